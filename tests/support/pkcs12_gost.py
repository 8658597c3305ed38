"""Read the NCA test PKCS#12 files that ``cryptography`` refuses (GOST keys).

The fixtures all share one layout: a SHA-1 MAC, the key in a shrouded key bag
(pbeWithSHA1And3-KeyTripleDES-CBC) and the certificate in an encrypted-data
safe (pbeWithSHA1And40BitRC2-CBC), keys derived with the RFC 7292 appendix B
KDF. ``cryptography`` only offers RC2 with 128-bit keys, so a small RC2
decryptor (RFC 2268) lives here; it only ever sees test fixtures.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from dataclasses import dataclass

from asn1crypto import core, pkcs12, x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

_KEY_ID, _IV_ID, _MAC_ID = 1, 2, 3


class Pkcs12Error(Exception):
    """The file is not in the expected shape or the password is wrong."""


@dataclass(frozen=True)
class GostKeyAndCertificate:
    """What an NCA key file holds: the private scalar and its certificate."""

    private_scalar_le: bytes
    """The private key as NCA stores it: a little-endian integer (64 bytes for 512-bit)."""
    key_algorithm: str
    """Dotted OID of the key, e.g. ``1.2.398.3.10.1.1.2.2`` for GOST 34.10-2015 512."""
    certificate_der: bytes


def load_gost_pkcs12(data: bytes, password: str) -> GostKeyAndCertificate:
    """Open an NCA GOST ``.p12`` with ``password``; checks the MAC first."""
    pfx = pkcs12.Pfx.load(data)
    auth_safe = pfx["auth_safe"]
    if auth_safe["content_type"].native != "data":
        raise Pkcs12Error("only password-integrity PKCS#12 files are supported")
    safe_bytes = auth_safe["content"].native
    _check_mac(pfx["mac_data"], safe_bytes, password)

    scalar: bytes | None = None
    key_algorithm = ""
    certificate: bytes | None = None
    for content_info in pkcs12.AuthenticatedSafe.load(safe_bytes):
        kind = content_info["content_type"].native
        if kind == "data":
            bags = pkcs12.SafeContents.load(content_info["content"].native)
        elif kind == "encrypted_data":
            encrypted = content_info["content"]["encrypted_content_info"]
            plain = _pbe_decrypt(
                encrypted["content_encryption_algorithm"],
                encrypted["encrypted_content"].native,
                password,
            )
            bags = pkcs12.SafeContents.load(plain)
        else:
            raise Pkcs12Error(f"unexpected safe content type {kind}")
        for bag in bags:
            bag_id = bag["bag_id"].native
            if bag_id == "pkcs8_shrouded_key_bag":
                shrouded = bag["bag_value"]
                plain = _pbe_decrypt(
                    shrouded["encryption_algorithm"],
                    shrouded["encrypted_data"].native,
                    password,
                )
                scalar, key_algorithm = _private_scalar(plain)
            elif bag_id == "cert_bag" and bag["bag_value"]["cert_id"].native == "x509":
                # The raw bytes, not .native: asn1crypto cannot parse GOST public keys.
                certificate = bytes(bag["bag_value"]["cert_value"])
    if scalar is None or certificate is None:
        raise Pkcs12Error("key or certificate missing")
    x509.Certificate.load(certificate)["tbs_certificate"]["subject"]  # fails if not a certificate
    return GostKeyAndCertificate(scalar, key_algorithm, certificate)


def _private_scalar(pkcs8_der: bytes) -> tuple[bytes, str]:
    """The private scalar from a PKCS#8 PrivateKeyInfo whose algorithm asn1crypto does not know."""

    class _AlgorithmIdentifier(core.Sequence):
        _fields = [  # noqa: RUF012 - asn1crypto schema
            ("algorithm", core.ObjectIdentifier),
            ("parameters", core.Any, {"optional": True}),
        ]

    class _PrivateKeyInfo(core.Sequence):
        _fields = [  # noqa: RUF012 - asn1crypto schema
            ("version", core.Integer),
            ("private_key_algorithm", _AlgorithmIdentifier),
            ("private_key", core.OctetString),
            ("attributes", core.Any, {"implicit": 0, "optional": True}),
        ]

    info = _PrivateKeyInfo.load(pkcs8_der)
    algorithm = info["private_key_algorithm"]["algorithm"].dotted
    raw = info["private_key"].native
    # NCA puts the bare little-endian scalar in the OCTET STRING; others nest
    # it in another OCTET STRING or an INTEGER (big-endian).
    if raw[:1] == b"\x04":
        with contextlib.suppress(ValueError):
            raw = core.OctetString.load(raw).native
    elif raw[:1] == b"\x02":
        try:
            value = core.Integer.load(raw).native
            size = 64 if value.bit_length() > 256 else 32
            raw = value.to_bytes(size, "little")
        except ValueError:
            pass
    return bytes(raw), algorithm


def _check_mac(mac_data: pkcs12.MacData, safe_bytes: bytes, password: str) -> None:
    if mac_data["mac"]["digest_algorithm"]["algorithm"].native != "sha1":
        raise Pkcs12Error("only SHA-1 MACs are supported")
    salt = mac_data["mac_salt"].native
    iterations = mac_data["iterations"].native
    key = pkcs12_kdf(password, salt, iterations, _MAC_ID, 20)
    expected = hmac.new(key, safe_bytes, hashlib.sha1).digest()
    if not hmac.compare_digest(expected, mac_data["mac"]["digest"].native):
        raise Pkcs12Error("MAC mismatch: wrong password or damaged file")


def _pbe_decrypt(algorithm: core.Asn1Value, ciphertext: bytes, password: str) -> bytes:
    name = algorithm["algorithm"].native
    salt = algorithm["parameters"]["salt"].native
    iterations = algorithm["parameters"]["iterations"].native
    if name == "pkcs12_sha1_tripledes_3key":
        key = pkcs12_kdf(password, salt, iterations, _KEY_ID, 24)
        iv = pkcs12_kdf(password, salt, iterations, _IV_ID, 8)
        decryptor = Cipher(TripleDES(key), modes.CBC(iv)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
    elif name == "pkcs12_sha1_rc2_40":
        key = pkcs12_kdf(password, salt, iterations, _KEY_ID, 5)
        iv = pkcs12_kdf(password, salt, iterations, _IV_ID, 8)
        padded = rc2_cbc_decrypt(key, 40, iv, ciphertext)
    else:
        raise Pkcs12Error(f"unsupported PBE algorithm {name}")
    return _unpad(padded)


def _unpad(padded: bytes) -> bytes:
    if not padded or len(padded) % 8:
        raise Pkcs12Error("bad ciphertext length")
    pad = padded[-1]
    if not 1 <= pad <= 8 or padded[-pad:] != bytes([pad]) * pad:
        raise Pkcs12Error("bad padding: wrong password?")
    return padded[:-pad]


def pkcs12_kdf(password: str, salt: bytes, iterations: int, purpose: int, size: int) -> bytes:
    """RFC 7292 appendix B.2 key derivation with SHA-1."""
    u, v = 20, 64
    bmp = password.encode("utf-16-be") + b"\x00\x00"
    diversifier = bytes([purpose]) * v

    def _stretch(data: bytes) -> bytes:
        if not data:
            return b""
        count = -(-len(data) // v) * v
        return (data * (count // len(data) + 1))[:count]

    block = bytearray(_stretch(salt) + _stretch(bmp))
    out = b""
    while len(out) < size:
        digest = diversifier + bytes(block)
        for _ in range(iterations):
            digest = hashlib.sha1(digest).digest()  # noqa: S324 - the format's KDF
        out += digest
        b_int = int.from_bytes((digest * (v // u + 1))[:v], "big")
        for start in range(0, len(block), v):
            chunk = int.from_bytes(block[start : start + v], "big")
            chunk = (chunk + b_int + 1) % (1 << (v * 8))
            block[start : start + v] = chunk.to_bytes(v, "big")
    return out[:size]


# RFC 2268 section 2: the "random" permutation derived from the digits of pi.
_PITABLE = bytes.fromhex(
    "d9 78 f9 c4 19 dd b5 ed 28 e9 fd 79 4a a0 d8 9d"
    "c6 7e 37 83 2b 76 53 8e 62 4c 64 88 44 8b fb a2"
    "17 9a 59 f5 87 b3 4f 13 61 45 6d 8d 09 81 7d 32"
    "bd 8f 40 eb 86 b7 7b 0b f0 95 21 22 5c 6b 4e 82"
    "54 d6 65 93 ce 60 b2 1c 73 56 c0 14 a7 8c f1 dc"
    "12 75 ca 1f 3b be e4 d1 42 3d d4 30 a3 3c b6 26"
    "6f bf 0e da 46 69 07 57 27 f2 1d 9b bc 94 43 03"
    "f8 11 c7 f6 90 ef 3e e7 06 c3 d5 2f c8 66 1e d7"
    "08 e8 ea de 80 52 ee f7 84 aa 72 ac 35 4d 6a 2a"
    "96 1a d2 71 5a 15 49 74 4b 9f d0 5e 04 18 a4 ec"
    "c2 e0 41 6e 0f 51 cb cc 24 91 af 50 a1 f4 70 39"
    "99 7c 3a 85 23 b8 b4 7a fc 02 36 5b 25 55 97 31"
    "2d 5d fa 98 e3 8a 92 ae 05 df 29 10 67 6c ba c9"
    "d3 00 e6 cf e1 9e a8 2c 63 16 01 3f 58 e2 89 a9"
    "0d 38 34 1b ab 33 ff b0 bb 48 0c 5f b9 b1 cd 2e"
    "c5 f3 db 47 e5 a5 9c 77 0a a6 20 68 fe 7f c1 ad"
)


def _rc2_expand_key(key: bytes, effective_bits: int) -> list[int]:
    t = len(key)
    t8 = (effective_bits + 7) // 8
    tm = 0xFF % (1 << (8 + effective_bits - 8 * t8))
    expanded = bytearray(128)
    expanded[:t] = key
    for i in range(t, 128):
        expanded[i] = _PITABLE[(expanded[i - 1] + expanded[i - t]) & 0xFF]
    expanded[128 - t8] = _PITABLE[expanded[128 - t8] & tm]
    for i in range(127 - t8, -1, -1):
        expanded[i] = _PITABLE[expanded[i + 1] ^ expanded[i + t8]]
    return [expanded[2 * i] | (expanded[2 * i + 1] << 8) for i in range(64)]


def _rc2_decrypt_block(words: list[int], block: bytes) -> bytes:
    r = [block[2 * i] | (block[2 * i + 1] << 8) for i in range(4)]
    shifts = (1, 2, 3, 5)
    j = 63

    def _unmix() -> None:
        nonlocal j
        for i in (3, 2, 1, 0):
            s = shifts[i]
            r[i] = ((r[i] >> s) | (r[i] << (16 - s))) & 0xFFFF
            r[i] = (r[i] - words[j] - (r[i - 1] & r[i - 2]) - (~r[i - 1] & r[i - 3])) & 0xFFFF
            j -= 1

    def _unmash() -> None:
        for i in (3, 2, 1, 0):
            r[i] = (r[i] - words[r[i - 1] & 63]) & 0xFFFF

    # Decryption runs encryption's schedule backwards: 5 mix, mash, 6 mix, mash, 5 mix.
    for rounds, then_mash in ((5, True), (6, True), (5, False)):
        for _ in range(rounds):
            _unmix()
        if then_mash:
            _unmash()
    return b"".join(w.to_bytes(2, "little") for w in r)


def rc2_cbc_decrypt(key: bytes, effective_bits: int, iv: bytes, ciphertext: bytes) -> bytes:
    """RC2 (RFC 2268) in CBC mode, decryption only, without unpadding."""
    if len(ciphertext) % 8 or len(iv) != 8:
        raise Pkcs12Error("bad RC2 input length")
    words = _rc2_expand_key(key, effective_bits)
    out = bytearray()
    previous = iv
    for start in range(0, len(ciphertext), 8):
        block = ciphertext[start : start + 8]
        plain = _rc2_decrypt_block(words, block)
        out += bytes(a ^ b for a, b in zip(plain, previous, strict=True))
        previous = block
    return bytes(out)
