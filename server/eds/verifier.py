"""Verifying an EDS login: the CMS, its signer's certificate, and who that is.

Checks run cheapest first and each refusal has its own code: the shape of
the CMS, the algorithms, that the content is the expected nonce, the
messageDigest, the signature, the path to a trust anchor, validity dates of
the whole path, the leaf's key usage (digitalSignature; no clientAuth EKU is
required: NCA's GOST keys sign and log in with one key), and revocation.

A GOST 512 verification is pure Python (~0.2 s per signature, two per login
with a warm cache), so the server calls :meth:`EdsVerifier.verify_async`,
which runs the work in a thread.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from server.eds.algorithms import digest, scheme_for_signer
from server.eds.certificates import Certificate
from server.eds.chain import TrustStore
from server.eds.cms import parse_signed_message
from server.eds.crl import CrlStore
from server.eds.errors import EdsError, EdsErrorCode
from server.eds.person import Person, person_from_certificate
from server.eds.revocation import RevocationAnswer, RevocationSource, RevocationStatus

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature that passed every check, and whom it belongs to."""

    person: Person
    certificate_der: bytes = field(repr=False)
    signing_time: datetime | None
    """The signer's claimed signing time (an unverified attribute)."""
    algorithm: str
    """E.g. ``GOST34.10-2015-512``, ``GOST34.10-2015-256``, ``RSA-SHA256``."""


class EdsVerifier:
    """Checks NCALayer CMS signatures against configured NCA trust anchors and CRLs."""

    def __init__(
        self,
        trust_anchors: Iterable[bytes],
        *,
        intermediates: Iterable[bytes] = (),
        crls: CrlStore | None = None,
        require_revocation_check: bool = True,
        revocation_sources: Sequence[RevocationSource] = (),
    ) -> None:
        """``trust_anchors``/``intermediates``: certificates (DER or PEM bytes).

        ``revocation_sources`` are consulted after the CRL store (the place for
        OCSP). With ``require_revocation_check`` a signer whose revocation
        status nobody knows is refused.
        """
        self._trust = TrustStore(trust_anchors, intermediates)
        self._crls = crls
        self._sources: tuple[RevocationSource, ...] = (
            *(() if crls is None else (crls,)),
            *revocation_sources,
        )
        self._require_revocation = require_revocation_check
        if crls is not None:
            crls.trust_issuers(self._trust.certificates)

    def verify(
        self, cms: bytes | str, expected_content: bytes, at: datetime | None = None
    ) -> VerifiedSignature:
        """Verify ``cms`` as a signature over ``expected_content`` at time ``at`` (default now).

        Raises :class:`EdsError` and nothing else, whatever the input.
        """
        when = datetime.now(UTC) if at is None else at
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        try:
            return self._verify(cms, bytes(expected_content), when)
        except EdsError:
            raise
        except Exception as exc:
            # Parsers already convert what they know; this is the last line of defence.
            log.warning("eds_unexpected_failure", exc_info=True)
            raise EdsError(EdsErrorCode.CMS_MALFORMED, "the signature could not be read") from exc

    async def verify_async(
        self, cms: bytes | str, expected_content: bytes, at: datetime | None = None
    ) -> VerifiedSignature:
        """:meth:`verify` in a worker thread, after refreshing stale CRLs."""
        if self._crls is not None:
            await self._crls.refresh_if_stale()
        return await asyncio.to_thread(self.verify, cms, expected_content, at)

    def _verify(self, cms: bytes | str, expected: bytes, at: datetime) -> VerifiedSignature:
        message = parse_signed_message(cms)
        scheme = scheme_for_signer(message.digest_oid, message.signature_oid)
        key = message.signer.public_key
        if key.family is not scheme.key_family:
            raise EdsError(
                EdsErrorCode.UNSUPPORTED_ALGORITHM,
                "the signer's key does not fit the signature algorithm",
            )
        if not hmac.compare_digest(message.content, expected):
            raise EdsError(EdsErrorCode.CONTENT_MISMATCH, "the signed content is not the challenge")
        if not hmac.compare_digest(
            digest(scheme.digest_oid, message.content), message.message_digest
        ):
            raise EdsError(EdsErrorCode.DIGEST_MISMATCH, "messageDigest does not match the content")
        if not key.verify(scheme, message.signed_attributes, message.signature):
            raise EdsError(EdsErrorCode.SIGNATURE_INVALID, "the signature does not verify")

        path = self._trust.build_path(message.signer, message.certificates)
        for certificate in path:
            _check_dates(certificate, at, is_leaf=certificate is path[0])
        leaf = path[0]
        if leaf.key_usage is None or "digital_signature" not in leaf.key_usage:
            raise EdsError(
                EdsErrorCode.KEY_USAGE_MISSING, "the certificate is not for digital signatures"
            )
        self._check_revocation(path, at)
        return VerifiedSignature(
            person=person_from_certificate(leaf),
            certificate_der=leaf.der,
            signing_time=message.signing_time,
            algorithm=scheme.name,
        )

    def _check_revocation(self, path: list[Certificate], at: datetime) -> None:
        # The signer must have a known status (when required); a CA above it is
        # checked when a CRL of its issuer happens to be loaded (NCA's root CRL
        # is rarely copied in), and refused only if listed.
        for position, (certificate, issuer) in enumerate(itertools.pairwise(path)):
            answer = self._revocation_status(certificate, issuer, at)
            if answer.status is RevocationStatus.REVOKED:
                who = "the certificate" if position == 0 else "an issuing CA certificate"
                raise EdsError(
                    EdsErrorCode.CERTIFICATE_REVOKED,
                    f"{who} is revoked ({answer.reason or 'unspecified'})",
                )
            if (
                position == 0
                and answer.status is RevocationStatus.UNKNOWN
                and self._require_revocation
            ):
                raise EdsError(
                    EdsErrorCode.REVOCATION_UNKNOWN,
                    "the certificate's revocation status cannot be checked now",
                )

    def _revocation_status(
        self, certificate: Certificate, issuer: Certificate, at: datetime
    ) -> RevocationAnswer:
        good: RevocationAnswer | None = None
        for source in self._sources:
            answer = source.check(certificate, issuer, at)
            if answer.status is RevocationStatus.REVOKED:
                return answer
            if answer.status is RevocationStatus.GOOD and good is None:
                good = answer
        return good or RevocationAnswer(RevocationStatus.UNKNOWN, source="none")


def _check_dates(certificate: Certificate, at: datetime, *, is_leaf: bool) -> None:
    who = "the certificate" if is_leaf else "an issuing CA certificate"
    if at < certificate.not_before:
        raise EdsError(
            EdsErrorCode.CERTIFICATE_NOT_YET_VALID,
            f"{who} is valid only from {certificate.not_before.isoformat()}",
        )
    if at > certificate.not_after:
        raise EdsError(
            EdsErrorCode.CERTIFICATE_EXPIRED,
            f"{who} expired on {certificate.not_after.isoformat()}",
        )
