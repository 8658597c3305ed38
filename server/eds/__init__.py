"""EDS (ЭЦҚ/ЭЦП) login: verifying NCA RK signatures made with NCALayer.

``EdsVerifier.verify`` takes the CMS the browser sent and the nonce it must
sign, and returns the :class:`Person` named by a trusted, valid, unrevoked
certificate, or raises :class:`EdsError` with a stable code.
"""

from server.eds.certificates import Certificate
from server.eds.cms import SignedMessage, encapsulated_content, parse_signed_message
from server.eds.crl import Crl, CrlStore
from server.eds.errors import EdsError, EdsErrorCode
from server.eds.person import Person, holder_kind
from server.eds.revocation import RevocationAnswer, RevocationSource, RevocationStatus
from server.eds.verifier import EdsVerifier, VerifiedSignature

__all__ = [
    "Certificate",
    "Crl",
    "CrlStore",
    "EdsError",
    "EdsErrorCode",
    "EdsVerifier",
    "Person",
    "RevocationAnswer",
    "RevocationSource",
    "RevocationStatus",
    "SignedMessage",
    "VerifiedSignature",
    "encapsulated_content",
    "holder_kind",
    "parse_signed_message",
]
