"""A fake NCALayer for browser tests.

NCALayer is the desktop app Kazakh browsers ask for EDS signatures over a
WebSocket at ``wss://127.0.0.1:13579/``. This fake listens there with a
self-signed certificate made at start (the browser must be launched with
``--ignore-certificate-errors``), greets like NCALayer does, and answers:

- ``kz.gov.pki.knca.basics`` ``sign``: ``{"status": true, "body": {"result": [cms]}}``;
- ``kz.gov.pki.knca.commonUtils`` ``createCMSSignatureFromBase64``:
  ``{"code": "200", "responseObject": cms}``.

The CMS comes from the test's ``sign(data: bytes) -> str`` callback (base64
CMS over ``data``); the fake never makes one up. Modes:

- ``normal``: sign;
- ``cancel``: the user closed the dialog (basics: empty body; commonUtils:
  code 500 ``action.canceled``);
- ``error``: NCALayer refuses with ``error_message``;
- ``hang``: never answer (the browser's timeout);
- ``basics_missing``: the basics module does not exist (an NCALayer too old),
  so the page must fall back to commonUtils, which signs. ``basics_missing=True``
  combines the same with ``cancel``, ``error`` or ``hang``.

Every request is recorded in ``requests``, every answer in ``replies``, and an
exception of the callback in ``errors`` (answered as an NCALayer error).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import json
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SignCallback = Callable[[bytes], str]

NCALAYER_HOST = "127.0.0.1"
NCALAYER_PORT = 13579
BASICS = "kz.gov.pki.knca.basics"
COMMON_UTILS = "kz.gov.pki.knca.commonUtils"
GREETING = {"result": {"version": "1.4"}}
MODES = ("normal", "cancel", "error", "hang", "basics_missing")
DEFAULT_ERROR_MESSAGE = "Хранилище ключей недоступно: AKKaztokenStore (token is not connected)"


def make_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate and key (PEM files in ``directory``) for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(NCALAYER_HOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "ncalayer-cert.pem"
    key_path = directory / "ncalayer-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class FakeNcaLayer:
    """``async with FakeNcaLayer(sign=..., mode=...) as ncalayer: ...``"""

    def __init__(
        self,
        sign: SignCallback | None = None,
        mode: str = "normal",
        *,
        basics_missing: bool = False,
        error_message: str = DEFAULT_ERROR_MESSAGE,
        greeting: bool = True,
        host: str = NCALAYER_HOST,
        port: int = NCALAYER_PORT,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {MODES}")
        if mode == "basics_missing":
            mode, basics_missing = "normal", True
        if mode == "normal" and sign is None:
            raise ValueError("mode 'normal' signs: pass sign(data: bytes) -> base64 CMS")
        self.sign = sign
        self.mode = mode
        self.basics_missing = basics_missing
        self.error_message = error_message
        self.greeting = greeting
        self.host = host
        self.port = port
        self.url = f"wss://{host}:{port}/"
        self.requests: list[Any] = []
        self.replies: list[dict[str, Any]] = []
        self.signed: list[tuple[bytes, str]] = []  # (data, cms)
        self.connections = 0
        self.errors: list[Exception] = []  # raised by the sign callback
        self._runner: web.AppRunner | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    # ---- lifecycle ----

    async def start(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-ncalayer-")
        cert, key = make_self_signed_cert(Path(self._tmp.name))
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, key)
        app = web.Application()
        app.router.add_get("/", self._websocket)
        self._runner = web.AppRunner(app, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=tls)
        try:
            await site.start()
        except OSError as exc:
            await self.stop()
            raise RuntimeError(
                f"cannot listen on {self.host}:{self.port} (is a real NCALayer running?): {exc}"
            ) from exc

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def __aenter__(self) -> FakeNcaLayer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---- what the tests look at ----

    def requests_for(self, module: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if isinstance(r, dict) and r.get("module") == module]

    # ---- protocol ----

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        if self.greeting:
            await ws.send_json(GREETING)
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                payload = json.loads(message.data)
            except ValueError:
                payload = message.data
            self.requests.append(payload)
            try:
                reply = self._answer(payload)
            except Exception as exc:  # the test's signer failed: show it, do not hang
                self.errors.append(exc)
                reply = {"status": False, "code": "FAKE_SIGNER_FAILED", "message": repr(exc)}
            if reply is None:
                continue  # hang: the user never finishes
            self.replies.append(reply)
            await ws.send_json(reply)
        return ws

    def _answer(self, payload: Any) -> dict[str, Any] | None:
        if not isinstance(payload, dict):
            return {"status": False, "code": "BAD_REQUEST", "message": "not a JSON object"}
        module, method = payload.get("module"), payload.get("method")
        if module == BASICS and method == "sign" and not self.basics_missing:
            return self._basics_sign(payload.get("args"))
        if module == COMMON_UTILS and method == "createCMSSignatureFromBase64":
            return self._common_utils_sign(payload.get("args"))
        return {
            "status": False,
            "code": "MODULE_NOT_FOUND",
            "message": f"Module not found: {module}",
        }

    def _basics_sign(self, args: Any) -> dict[str, Any] | None:
        if not isinstance(args, dict) or args.get("format") != "cms":
            return {"status": False, "code": "BAD_REQUEST", "message": "args.format must be cms"}
        if self.mode == "hang":
            return None
        if self.mode == "cancel":
            return {"status": True, "body": {}}
        if self.mode == "error":
            return {"status": False, "code": "EXCEPTION", "message": self.error_message}
        data = _decode(args.get("data"))
        if data is None:
            return {"status": False, "code": "BAD_REQUEST", "message": "args.data is not base64"}
        return {"status": True, "body": {"result": [self._sign(data)]}}

    def _common_utils_sign(self, args: Any) -> dict[str, Any] | None:
        if not isinstance(args, list) or len(args) != 4:
            return {"code": "500", "message": "wrong arguments"}
        if self.mode == "hang":
            return None
        if self.mode == "cancel":
            return {"code": "500", "message": "action.canceled"}
        if self.mode == "error":
            return {"code": "500", "message": self.error_message}
        data = _decode(args[2])
        if data is None:
            return {"code": "500", "message": "data is not base64"}
        return {"code": "200", "responseObject": self._sign(data)}

    def _sign(self, data: bytes) -> str:
        assert self.sign is not None
        cms = self.sign(data)
        self.signed.append((data, cms))
        return cms


def _decode(value: Any) -> bytes | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
