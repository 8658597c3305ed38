"""The refusals of the signature verifier, one stable code per reason."""

from __future__ import annotations

from enum import StrEnum

from server.errors import CodedError


class EdsErrorCode(StrEnum):
    """Why a signed login was refused. The values are stable: clients switch on them."""

    CMS_MALFORMED = "cms_malformed"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    CONTENT_MISMATCH = "content_mismatch"
    DIGEST_MISMATCH = "digest_mismatch"
    SIGNATURE_INVALID = "signature_invalid"
    CERTIFICATE_UNTRUSTED = "certificate_untrusted"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_NOT_YET_VALID = "certificate_not_yet_valid"
    KEY_USAGE_MISSING = "key_usage_missing"
    CERTIFICATE_REVOKED = "certificate_revoked"
    REVOCATION_UNKNOWN = "revocation_unknown"


class EdsError(CodedError):
    """A signature was refused; ``code`` is an :class:`EdsErrorCode` value."""

    def __init__(self, code: EdsErrorCode, message: str) -> None:
        super().__init__(code.value, message)
