"""Revocation answers and the interface every revocation source implements.

:class:`~server.eds.crl.CrlStore` is the one source today. OCSP is the
intended second one: an ``OcspClient`` implementing :class:`RevocationSource`
(asking NCA's responder about ``certificate`` issued by ``issuer``) can be
passed to :class:`~server.eds.verifier.EdsVerifier` as an extra source
without touching the verifier. ``check`` is synchronous because verification
runs in a worker thread; a network source may block there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from server.eds.certificates import Certificate


class RevocationStatus(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    """The source has no usable information about this issuer right now."""


@dataclass(frozen=True)
class RevocationAnswer:
    """One source's answer about one certificate."""

    status: RevocationStatus
    source: str
    reason: str | None = None
    """The CRL reason (e.g. ``key_compromise``, ``certificate_hold``) when revoked."""
    revoked_at: datetime | None = None


class RevocationSource(Protocol):
    """Something that can say whether a certificate was revoked at a given time."""

    def check(
        self, certificate: Certificate, issuer: Certificate, at: datetime
    ) -> RevocationAnswer:
        """Status of ``certificate`` (issued by ``issuer``) at ``at``.

        ``issuer`` has already been verified as the certificate's issuer, so a
        source may use its key to verify what it fetched (CRL or OCSP response).
        """
        ...
