"""Turning what the browser sent into CMS DER: base64, PEM or raw DER.

NCALayer answers base64 (sometimes wrapped over lines); people pasting a
signature may bring PEM (``-----BEGIN CMS-----``, ``PKCS7`` or ``SIGNED
DATA``). Anything else is ``cms_malformed``.
"""

from __future__ import annotations

import base64
import binascii
import re

from server.eds.errors import EdsError, EdsErrorCode

MAX_CMS_BYTES = 256 * 1024
"""A login CMS (nonce, signer certificate, maybe a CA) is a few kilobytes."""

_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----(.*?)-----END \1-----", re.DOTALL)
_PEM_LABELS = frozenset({b"CMS", b"PKCS7", b"PKCS #7 SIGNED DATA", b"SIGNED DATA"})
_WHITESPACE = re.compile(rb"\s+")
_BASE64 = re.compile(rb"[A-Za-z0-9+/\-_]*={0,2}")


def decode_cms(data: bytes | str) -> bytes:
    """The DER bytes of a CMS given as base64, PEM or DER."""
    if isinstance(data, str):
        try:
            raw = data.encode("ascii")
        except UnicodeEncodeError as exc:
            raise _malformed("the signature is not base64 text") from exc
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if raw[:1] == b"\x30":  # a DER SEQUENCE; base64 of a CMS starts with "MI"
            return _checked_size(raw)
    else:
        raise _malformed("the signature must be bytes or text")
    # base64 is 4/3 of the DER, plus line breaks and PEM armour.
    if len(raw) > 2 * MAX_CMS_BYTES:
        raise _malformed("the signature is too large")
    text = raw.strip()
    armour = _PEM.search(text)
    if armour is not None:
        if armour.group(1) not in _PEM_LABELS:
            raise _malformed("PEM block is not a CMS signature")
        text = armour.group(2)
    body = _WHITESPACE.sub(b"", text)
    if not body or not _BASE64.fullmatch(body):
        raise _malformed("the signature is not valid base64")
    # Accept the URL-safe alphabet and missing padding: both occur in JavaScript clients.
    body = body.rstrip(b"=").replace(b"-", b"+").replace(b"_", b"/")
    body += b"=" * (-len(body) % 4)
    try:
        der = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _malformed("the signature is not valid base64") from exc
    return _checked_size(der)


def _checked_size(der: bytes) -> bytes:
    if not der:
        raise _malformed("the signature is empty")
    if len(der) > MAX_CMS_BYTES:
        raise _malformed("the signature is too large")
    return der


def _malformed(message: str) -> EdsError:
    return EdsError(EdsErrorCode.CMS_MALFORMED, message)
