"""Certificate paths from a signer up to a configured trust anchor.

The path is built from the certificates the CMS carries plus the configured
intermediates and anchors, by issuer name (and key identifier when both sides
have one), checking every link's signature. Intermediates must be CAs allowed
to sign certificates. Validity dates and revocation are the verifier's job,
done on the finished path.

A GOST 512 signature check costs about 0.2 s of pure Python, so link results
are cached by (child, issuer) fingerprint, and the number of checks one path
search may spend is capped: a CMS stuffed with look-alike CA certificates
cannot make the server spin.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from asn1crypto import pem

from server.eds.algorithms import scheme_for_signed_object
from server.eds.certificates import Certificate
from server.eds.errors import EdsError, EdsErrorCode

MAX_PATH_LENGTH = 6
MAX_SIGNATURE_CHECKS = 8
_CACHE_SIZE = 4096


class TrustStore:
    """The configured trust anchors and intermediates; builds verified paths."""

    def __init__(self, anchors: Iterable[bytes], intermediates: Iterable[bytes] = ()) -> None:
        self.anchors = tuple(_load_configured(der, "trust anchor") for der in anchors)
        self.intermediates = tuple(_load_configured(der, "intermediate") for der in intermediates)
        if not self.anchors:
            raise ValueError("at least one trust anchor is needed")
        self._links: OrderedDict[tuple[bytes, bytes], bool] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def certificates(self) -> tuple[Certificate, ...]:
        """Anchors and intermediates: the CAs whose CRLs may be checked."""
        return self.anchors + self.intermediates

    def build_path(
        self, leaf: Certificate, carried: Sequence[Certificate] = ()
    ) -> list[Certificate]:
        """``[leaf, CAs..., anchor]``, every link verified; else ``certificate_untrusted``."""
        pool = [cert for cert in (*carried, *self.intermediates) if cert not in self.anchors]
        if leaf.unknown_critical:
            raise EdsError(
                EdsErrorCode.CERTIFICATE_UNTRUSTED,
                f"certificate has unsupported critical extensions {list(leaf.unknown_critical)}",
            )
        budget = [MAX_SIGNATURE_CHECKS]
        path = self._extend([leaf], pool, budget)
        if path is None:
            raise EdsError(
                EdsErrorCode.CERTIFICATE_UNTRUSTED,
                "the certificate does not chain to a trusted NCA certificate",
            )
        return path

    def _extend(
        self, path: list[Certificate], pool: list[Certificate], budget: list[int]
    ) -> list[Certificate] | None:
        current = path[-1]
        for anchor in self.anchors:
            if anchor.may_have_issued(current) and self._issued(anchor, current, budget):
                candidate = [*path, anchor]
                if _path_lengths_ok(candidate):
                    return candidate
        if len(path) >= MAX_PATH_LENGTH:
            return None
        for issuer in pool:
            if (
                issuer in path
                or not issuer.may_have_issued(current)
                or not _can_sign_certificates(issuer)
                or issuer.unknown_critical
            ):
                continue
            if self._issued(issuer, current, budget):
                found = self._extend([*path, issuer], pool, budget)
                if found is not None:
                    return found
        return None

    def _issued(self, issuer: Certificate, child: Certificate, budget: list[int]) -> bool:
        key = (child.fingerprint, issuer.fingerprint)
        with self._lock:
            cached = self._links.get(key)
            if cached is not None:
                self._links.move_to_end(key)
                return cached
        if budget[0] <= 0:
            return False
        budget[0] -= 1
        try:
            scheme = scheme_for_signed_object(child.signature_oid)
            valid = issuer.public_key.verify(scheme, child.tbs_der, child.signature)
        except EdsError:
            # An issuer key or a signature algorithm we cannot check is not a link.
            valid = False
        with self._lock:
            self._links[key] = valid
            while len(self._links) > _CACHE_SIZE:
                self._links.popitem(last=False)
        return valid


def _can_sign_certificates(certificate: Certificate) -> bool:
    return certificate.is_ca and (
        certificate.key_usage is None or "key_cert_sign" in certificate.key_usage
    )


def _path_lengths_ok(path: list[Certificate]) -> bool:
    # pathLenConstraint counts the CA certificates below this one, leaf excluded.
    for position, certificate in enumerate(path[1:], start=1):
        below = position - 1
        if certificate.path_length is not None and below > certificate.path_length:
            return False
    return True


def _load_configured(data: bytes, what: str) -> Certificate:
    # Operators copy NCA certificates in as .cer (DER) or .crt (often PEM).
    try:
        if pem.detect(data):
            _, _, data = pem.unarmor(data)
        return Certificate.load(data)
    except (EdsError, ValueError) as exc:
        raise ValueError(f"a configured {what} is not a readable certificate") from exc
