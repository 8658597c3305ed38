"""Certificate revocation lists: loading, refreshing and answering "is it revoked?".

A court network usually gets NCA's CRLs copied in as files; URLs are fetched
too. A CRL is trusted only once its signature verifies with the issuer's key
and only until its nextUpdate: a stale CRL is not an answer (it triggers a
refresh, and if that fails the status is unknown). A listed certificate is
revoked from its revocation date on, whatever the reason, certificateHold
included (a held certificate is not valid while the entry stands).

Scope: complete CRLs and delta CRLs (a delta's ``removeFromCRL`` lifts an
older hold). CRLs with an issuing distribution point (partitioned or
indirect CRLs) or unknown critical extensions are refused rather than
misread; NCA does not issue such CRLs.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import structlog
from asn1crypto import core, pem
from asn1crypto import crl as asn1_crl

from server.eds.algorithms import same_algorithm, scheme_for_signed_object
from server.eds.certificates import Certificate
from server.eds.errors import EdsError, EdsErrorCode
from server.eds.revocation import RevocationAnswer, RevocationStatus

log = structlog.get_logger(__name__)

MAX_CRL_BYTES = 64 * 1024 * 1024
_UNDERSTOOD_CRITICAL = frozenset({"delta_crl_indicator"})
_REMOVE_FROM_CRL = "remove_from_crl"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RevokedEntry:
    revoked_at: datetime
    reason: str | None


@dataclass(frozen=True, eq=False)
class Crl:
    """A parsed CRL. Its signature is checked by :class:`CrlStore`, not here."""

    fingerprint: bytes
    """SHA-256 of the bytes as loaded: identifies this exact list."""
    source: str
    issuer_key: str
    issuer_name: str
    this_update: datetime
    next_update: datetime | None
    crl_number: int | None
    delta_base: int | None
    """The base CRL number for a delta CRL; ``None`` for a complete CRL."""
    authority_key_id: bytes | None
    tbs_der: bytes
    signature_oid: str
    signature: bytes
    entries: Mapping[int, RevokedEntry]

    @property
    def is_delta(self) -> bool:
        return self.delta_base is not None

    @classmethod
    def load(cls, data: bytes, source: str) -> Crl:
        """Parse a DER or PEM CRL; raises ``ValueError`` if it is not one we can use."""
        fingerprint = hashlib.sha256(data).digest()
        try:
            if pem.detect(data):
                _, _, data = pem.unarmor(data)
            parsed = asn1_crl.CertificateList.load(bytes(data), strict=True)
            tbs = parsed["tbs_cert_list"]
            if not same_algorithm(parsed["signature_algorithm"], tbs["signature"]):
                raise ValueError("signature algorithm differs inside and outside the TBS")
            unknown = parsed.critical_extensions - _UNDERSTOOD_CRITICAL
            if unknown or parsed.issuing_distribution_point_value is not None:
                raise ValueError(f"unsupported CRL extensions {sorted(unknown)}")
            entries: dict[int, RevokedEntry] = {}
            for revoked in tbs["revoked_certificates"]:
                reason = revoked.crl_reason_value
                if revoked.certificate_issuer_value is not None:
                    raise ValueError("indirect CRLs are not supported")
                entries[int(revoked["user_certificate"].native)] = RevokedEntry(
                    revoked_at=revoked["revocation_date"].native,
                    reason=None if reason is None else reason.native,
                )
            aki = parsed.authority_key_identifier_value
            number = parsed.crl_number_value
            delta = parsed.delta_crl_indicator_value
            next_update = tbs["next_update"]
            return cls(
                fingerprint=fingerprint,
                source=source,
                issuer_key=tbs["issuer"].hashable,
                issuer_name=tbs["issuer"].human_friendly,
                this_update=tbs["this_update"].native,
                next_update=None if isinstance(next_update, core.Void) else next_update.native,
                crl_number=None if number is None else int(number.native),
                delta_base=None if delta is None else int(delta.native),
                authority_key_id=None if aki is None else aki["key_identifier"].native,
                tbs_der=tbs.dump(),
                signature_oid=parsed["signature_algorithm"]["algorithm"].dotted,
                signature=bytes(parsed["signature"].native),
                entries=entries,
            )
        except Exception as exc:  # asn1crypto raises many types on hostile input
            raise ValueError(f"unusable CRL from {source}: {exc}") from exc


class CrlStore:
    """CRLs from files and URLs, indexed by issuer name; a :class:`RevocationSource`.

    Files are read at construction so a store is usable at once; :meth:`refresh`
    re-reads them and fetches the URLs. A CRL's signature is checked with the
    issuer certificate of the path being verified, once per CRL and issuer.
    That check hashes the whole CRL (pure-Python Streebog for GOST, ~3 s/MB),
    so it is done ahead, in the refresh's worker thread, for the CA
    certificates given to :meth:`trust_issuers` (the verifier gives its own).
    """

    def __init__(
        self,
        files: Iterable[str | Path] = (),
        urls: Iterable[str] = (),
        *,
        fetch_timeout: float = 30.0,
        retry_interval: float = 300.0,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._files = [Path(path) for path in files]
        self._urls = list(urls)
        self._fetch_timeout = fetch_timeout
        self._retry_interval = retry_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._by_source: dict[str, Crl] = {}
        self._by_issuer: dict[str, tuple[Crl, ...]] = {}
        self._issuers: dict[str, list[Certificate]] = {}
        self._signature_checked: dict[tuple[bytes, bytes], bool] = {}
        self._last_attempt: float | None = None
        self._refreshing: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: asyncio.Task[None] | None = None
        for path in self._files:
            self._load_file(path)

    # -- loading ---------------------------------------------------------------

    def add(self, data: bytes, source: str = "memory") -> Crl:
        """Install a CRL from bytes (DER or PEM); ``ValueError`` if unusable."""
        crl = Crl.load(data, source)
        self._install(crl)
        return crl

    def trust_issuers(self, certificates: Iterable[Certificate]) -> None:
        """Remember CA certificates so CRL signatures are checked as CRLs (re)load.

        Nothing is checked now (this runs at startup, on the event loop); CRLs
        already loaded are checked at the next refresh or first use.
        """
        with self._lock:
            for certificate in certificates:
                known = self._issuers.setdefault(certificate.subject_key, [])
                if certificate not in known:
                    known.append(certificate)

    async def refresh(self) -> bool:
        """Re-read the files and fetch the URLs; ``True`` if every source loaded."""
        self._loop = asyncio.get_running_loop()
        if self._refreshing is None:
            self._refreshing = asyncio.Lock()
        async with self._refreshing:
            self._last_attempt = time.monotonic()
            ok = True
            for path in self._files:
                ok = await asyncio.to_thread(self._load_file, path) and ok
            if self._urls:
                timeout = aiohttp.ClientTimeout(total=self._fetch_timeout)
                async with aiohttp.ClientSession(timeout=timeout) as session:
                    for url in self._urls:
                        ok = await self._fetch(session, url) and ok
            return ok

    async def refresh_if_stale(self) -> None:
        """Refresh when no CRL is loaded or one is past its nextUpdate (rate-limited)."""
        if self.is_stale() and self._retry_due():
            await self.refresh()

    async def refresh_forever(self, interval_seconds: float) -> None:
        """Refresh every ``interval_seconds`` (and sooner when a CRL goes stale); run as a task."""
        while True:
            try:
                await self.refresh()
            except Exception:  # keep the loop alive whatever one refresh does
                log.exception("crl_refresh_failed")
            deadline = time.monotonic() + interval_seconds
            while time.monotonic() < deadline:
                await asyncio.sleep(min(60.0, interval_seconds))
                if self.is_stale() and self._retry_due():
                    break

    def is_stale(self) -> bool:
        """Whether any source is missing or any loaded CRL is past its nextUpdate."""
        now = self._clock()
        with self._lock:
            loaded = dict(self._by_source)
        configured = [str(path) for path in self._files] + self._urls
        if any(source not in loaded for source in configured):
            return True
        return any(crl.next_update is not None and crl.next_update < now for crl in loaded.values())

    @property
    def crls(self) -> tuple[Crl, ...]:
        """The CRLs currently loaded, one per source."""
        with self._lock:
            return tuple(self._by_source.values())

    def _load_file(self, path: Path) -> bool:
        try:
            data = path.read_bytes()
            if self._unchanged(str(path), data):
                return True
            crl = Crl.load(data, str(path))
        except (OSError, ValueError) as exc:
            log.warning("crl_load_failed", source=str(path), error=str(exc))
            return False
        self._install(crl)
        return True

    async def _fetch(self, session: aiohttp.ClientSession, url: str) -> bool:
        try:
            async with session.get(url) as response:
                if response.status != 200:
                    raise ValueError(f"HTTP {response.status}")
                data = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > MAX_CRL_BYTES:
                        raise ValueError("CRL too large")
            if self._unchanged(url, bytes(data)):
                return True
            # Parsing (and the GOST hash of a large CRL) is CPU work: off the loop.
            crl = await asyncio.to_thread(Crl.load, bytes(data), url)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("crl_fetch_failed", source=url, error=str(exc) or type(exc).__name__)
            return False
        await asyncio.to_thread(self._install, crl)
        return True

    def _unchanged(self, source: str, data: bytes) -> bool:
        # NCA republishes daily at most; an hourly refresh mostly sees the same bytes.
        with self._lock:
            current = self._by_source.get(source)
        return current is not None and current.fingerprint == hashlib.sha256(data).digest()

    def _install(self, crl: Crl) -> None:
        with self._lock:
            current = self._by_source.get(crl.source)
            if current is not None and current.this_update > crl.this_update:
                # Never go back to an older list (a replayed or cached old file).
                log.warning("crl_older_than_loaded", source=crl.source)
                return
            self._by_source[crl.source] = crl
            index: dict[str, list[Crl]] = {}
            for loaded in self._by_source.values():
                index.setdefault(loaded.issuer_key, []).append(loaded)
            self._by_issuer = {key: tuple(crls) for key, crls in index.items()}
            current_prints = {loaded.fingerprint for loaded in self._by_source.values()}
            self._signature_checked = {
                key: ok for key, ok in self._signature_checked.items() if key[0] in current_prints
            }
        log.info(
            "crl_loaded",
            source=crl.source,
            issuer=crl.issuer_name,
            entries=len(crl.entries),
            next_update=crl.next_update.isoformat() if crl.next_update else None,
        )
        self._check_against_known_issuers(crl)

    def _check_against_known_issuers(self, crl: Crl) -> None:
        with self._lock:
            issuers = list(self._issuers.get(crl.issuer_key, ()))
        if issuers and not any(self._signed_by(crl, issuer) for issuer in issuers):
            log.warning("crl_signature_invalid", source=crl.source, issuer=crl.issuer_name)

    # -- answering -------------------------------------------------------------

    def check(
        self, certificate: Certificate, issuer: Certificate, at: datetime
    ) -> RevocationAnswer:
        """Revocation status of ``certificate`` at ``at`` from ``issuer``'s CRLs."""
        return self._status(certificate.serial, issuer, at)

    def is_revoked(
        self, issuer: Certificate | bytes, serial: int, at: datetime | None = None
    ) -> bool:
        """Whether ``serial`` from ``issuer`` is revoked; ``revocation_unknown`` without a CRL."""
        issuer_certificate = issuer if isinstance(issuer, Certificate) else Certificate.load(issuer)
        answer = self._status(serial, issuer_certificate, at or self._clock())
        if answer.status is RevocationStatus.UNKNOWN:
            raise EdsError(EdsErrorCode.REVOCATION_UNKNOWN, "no current CRL for this issuer")
        return answer.status is RevocationStatus.REVOKED

    def _status(self, serial: int, issuer: Certificate, at: datetime) -> RevocationAnswer:
        with self._lock:
            crls = self._by_issuer.get(issuer.subject_key, ())
        now = self._clock()
        usable = [
            crl
            for crl in crls
            if (crl.next_update is None or crl.next_update >= at) and self._signed_by(crl, issuer)
        ]
        complete = [crl for crl in usable if not crl.is_delta]
        stale = any(crl.next_update is not None and crl.next_update < now for crl in crls)
        if stale or (not crls and self.is_stale()):
            self._request_refresh()
        if not complete:
            return RevocationAnswer(RevocationStatus.UNKNOWN, source="crl")
        newest = max(crl.crl_number or 0 for crl in complete)
        # A delta that applies to the newest complete CRL (RFC 5280 5.2.4) can
        # lift a hold with removeFromCRL.
        lifted = any(
            (entry := crl.entries.get(serial)) is not None and entry.reason == _REMOVE_FROM_CRL
            for crl in usable
            if crl.is_delta and (crl.delta_base or 0) <= newest < (crl.crl_number or 0)
        )
        for crl in usable:
            entry = crl.entries.get(serial)
            if entry is None or entry.reason == _REMOVE_FROM_CRL or entry.revoked_at > at:
                continue
            if lifted and entry.reason == "certificate_hold" and not crl.is_delta:
                continue
            return RevocationAnswer(
                RevocationStatus.REVOKED,
                source=f"crl:{crl.source}",
                reason=entry.reason,
                revoked_at=entry.revoked_at,
            )
        return RevocationAnswer(RevocationStatus.GOOD, source="crl")

    def _signed_by(self, crl: Crl, issuer: Certificate) -> bool:
        key = (crl.fingerprint, issuer.fingerprint)
        cached = self._signature_checked.get(key)
        if cached is not None:
            return cached
        valid = False
        if (
            crl.issuer_key == issuer.subject_key
            and (issuer.key_usage is None or "crl_sign" in issuer.key_usage)
            and (
                crl.authority_key_id is None
                or issuer.subject_key_id is None
                or crl.authority_key_id == issuer.subject_key_id
            )
        ):
            try:
                scheme = scheme_for_signed_object(crl.signature_oid)
                valid = issuer.public_key.verify(scheme, crl.tbs_der, crl.signature)
            except EdsError:
                valid = False
        self._signature_checked[key] = valid
        return valid

    # -- stale CRLs ------------------------------------------------------------

    def _retry_due(self) -> bool:
        return (
            self._last_attempt is None
            or time.monotonic() - self._last_attempt >= self._retry_interval
        )

    def _request_refresh(self) -> None:
        # Called from verification (often a worker thread): start a refresh on
        # the loop that last refreshed, without waiting for it.
        loop = self._loop
        if loop is None or loop.is_closed() or not self._retry_due():
            return
        try:
            loop.call_soon_threadsafe(self._start_background_refresh)
        except RuntimeError:  # the loop closed meanwhile
            return

    def _start_background_refresh(self) -> None:
        if self._background is None or self._background.done():
            self._background = asyncio.get_running_loop().create_task(self.refresh_if_stale())
