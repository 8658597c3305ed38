"""GOST 34.10-2015 public keys and signature checks in NCA RK's byte conventions.

NCA writes every number little-endian: the public key is ``x || y``, the
signature ``r || s``, each half little-endian, and the digest is read as a
little-endian integer. ``gostcrypto`` works big-endian, so each half is
reversed on the way in. These conventions were checked against the NCA test
CA and its leaves (see ``docs/nca-eds-profile.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from asn1crypto import core
from gostcrypto import gostsignature

from server.eds.algorithms import (
    GOST2015_256_KEY,
    GOST2015_256_PARAMSET_A,
    GOST2015_512_KEY,
    GOST2015_512_PARAMSET_A,
    KeyFamily,
)
from server.eds.errors import EdsError, EdsErrorCode

_TC26_256_A = "id-tc26-gost-3410-2012-256-paramSetA"
_TC26_256_B = "id-tc26-gost-3410-2012-256-paramSetB"  # = CryptoPro A
_TC26_256_C = "id-tc26-gost-3410-2012-256-paramSetC"  # = CryptoPro B
_TC26_256_D = "id-tc26-gost-3410-2012-256-paramSetD"  # = CryptoPro C
_TC26_512_A = "id-tc26-gost-3410-12-512-paramSetA"
_TC26_512_B = "id-tc26-gost-3410-12-512-paramSetB"
_TC26_512_C = "id-tc26-gost-3410-2012-512-paramSetC"

# Curve parameter OIDs (NCA's and the TC26/CryptoPro ones) -> gostcrypto curve name.
_CURVES_256: dict[str, str] = {
    GOST2015_256_PARAMSET_A: _TC26_256_A,
    "1.2.643.7.1.2.1.1.1": _TC26_256_A,
    "1.2.643.7.1.2.1.1.2": _TC26_256_B,
    "1.2.643.2.2.35.1": _TC26_256_B,
    "1.2.643.2.2.36.0": _TC26_256_B,
    "1.2.643.7.1.2.1.1.3": _TC26_256_C,
    "1.2.643.2.2.35.2": _TC26_256_C,
    "1.2.643.7.1.2.1.1.4": _TC26_256_D,
    "1.2.643.2.2.35.3": _TC26_256_D,
    "1.2.643.2.2.36.1": _TC26_256_D,
}
_CURVES_512: dict[str, str] = {
    GOST2015_512_PARAMSET_A: _TC26_512_A,
    "1.2.643.7.1.2.1.2.1": _TC26_512_A,
    "1.2.643.7.1.2.1.2.2": _TC26_512_B,
    "1.2.643.7.1.2.1.2.3": _TC26_512_C,
}


class GostKeyParameters(core.Sequence):
    """``GostR3410-2012-PublicKeyParameters``: the curve, then optionally the digest."""

    _fields = [  # noqa: RUF012 - asn1crypto schema
        ("public_key_param_set", core.ObjectIdentifier),
        ("digest_param_set", core.ObjectIdentifier, {"optional": True}),
    ]


class _Engine(gostsignature.GOST34102012):
    """gostcrypto's GOST 34.10-2012 with its two hot spots replaced, same results.

    The library inverts modulo p with a recursive extended Euclid and compares
    coordinates by converting them to byte arrays; those made one 512-bit
    verification cost ~0.5 s. Python's ``pow(x, -1, p)`` and plain integer
    comparison make it ~0.08 s. ``tests/test_eds.py`` checks that signatures
    and verdicts agree with the unmodified class.
    """

    @staticmethod
    def _invert(value: int, n_mod: int) -> int:
        try:
            return pow(value, -1, n_mod)
        except ValueError:  # not invertible: the library's Euclid yields 0 here too
            return 0

    def _add(self, x_1: int, x_2: int, y_1: int, y_2: int) -> tuple[int, int]:
        p = self._p
        if x_1 == x_2 and y_1 == y_2:
            slope = (3 * x_1 * x_1 + self._a) * self._invert(2 * y_1, p) % p
        else:
            slope = (y_2 - y_1) % p * self._invert((x_2 - x_1) % p, p) % p
        x_3 = (slope * slope - x_1 - x_2) % p
        return x_3, (slope * (x_1 - x_3) - y_1) % p


@cache
def gost_engine(size: int, curve: str) -> gostsignature.GOST34102012:
    """The (shared) signature engine for ``size``-byte keys on gostcrypto curve ``curve``.

    Building one validates the curve (slow for 512 bit); it holds no per-call
    state, so one per curve serves every thread.
    """
    mode = gostsignature.MODE_512 if size == 64 else gostsignature.MODE_256
    return _Engine(mode, gostsignature.CURVES_R_1323565_1_024_2019[curve])


@dataclass(frozen=True)
class GostPublicKey:
    """A GOST 34.10-2015 public point on a named curve."""

    family: KeyFamily
    curve: str
    """gostcrypto's name of the curve."""
    point: bytes
    """``x || y`` as NCA writes it: each coordinate little-endian."""

    @property
    def size(self) -> int:
        """Bytes per coordinate (and per signature half): 32 or 64."""
        return 64 if self.family is KeyFamily.GOST2015_512 else 32

    @classmethod
    def from_spki(
        cls, algorithm_oid: str, parameters: bytes | None, key_bits: bytes
    ) -> GostPublicKey:
        """Read the key from a SubjectPublicKeyInfo's parts.

        ``parameters`` is the DER of the algorithm parameters (the curve is read
        from them; without them NCA's parameter set A is assumed) and
        ``key_bits`` the BIT STRING's bytes, an OCTET STRING holding ``x || y``.
        """
        if algorithm_oid == GOST2015_512_KEY:
            family, curves, default = KeyFamily.GOST2015_512, _CURVES_512, _TC26_512_A
        elif algorithm_oid == GOST2015_256_KEY:
            family, curves, default = KeyFamily.GOST2015_256, _CURVES_256, _TC26_256_A
        else:
            raise EdsError(
                EdsErrorCode.UNSUPPORTED_ALGORITHM, f"not a GOST 2015 key: {algorithm_oid}"
            )
        curve = default
        if parameters and parameters != b"\x05\x00":  # absent or NULL: the default curve
            param_set = GostKeyParameters.load(parameters)["public_key_param_set"].dotted
            if param_set not in curves:
                raise EdsError(
                    EdsErrorCode.UNSUPPORTED_ALGORITHM, f"unsupported GOST curve {param_set}"
                )
            curve = curves[param_set]
        size = 64 if family is KeyFamily.GOST2015_512 else 32
        point = _unwrap_point(key_bits, size)
        return cls(family=family, curve=curve, point=point)

    def verify(self, digest: bytes, signature: bytes) -> bool:
        """Check ``signature`` (``r || s``, little-endian halves) over ``digest``."""
        size = self.size
        if len(digest) != size or len(signature) != 2 * size:
            return False
        point_be = self.point[:size][::-1] + self.point[size:][::-1]
        signature_be = signature[:size][::-1] + signature[size:][::-1]
        try:
            engine = gost_engine(size, self.curve)
            return bool(engine.verify(bytearray(point_be), bytearray(digest[::-1]), signature_be))
        except (gostsignature.GOSTSignatureError, ArithmeticError, ValueError, RecursionError):
            # A point off the curve can make the affine arithmetic divide by zero.
            return False


def _unwrap_point(key_bits: bytes, size: int) -> bytes:
    # NCA (like RFC 4491) wraps the point in an OCTET STRING inside the BIT STRING.
    if len(key_bits) != 2 * size:
        try:
            key_bits = core.OctetString.load(key_bits).native
        except ValueError as exc:
            raise EdsError(EdsErrorCode.CMS_MALFORMED, "malformed GOST public key") from exc
    if len(key_bits) != 2 * size:
        raise EdsError(EdsErrorCode.CMS_MALFORMED, "GOST public key has the wrong length")
    return bytes(key_bits)
