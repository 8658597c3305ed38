"""Logging in by EDS against a running server, the way the browser does."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import aiohttp

from server.eds import CrlStore, EdsVerifier
from support.nca_pki import NcaPki, sign_cms


def verifier_for(pki: NcaPki) -> EdsVerifier:
    """What a court configures: the root as anchor, the NCA intermediate, its CRL."""
    crls = CrlStore()
    verifier = EdsVerifier(pki.anchors, intermediates=[pki.intermediate.certificate_der], crls=crls)
    crls.add(pki.crl_der, source="test-crl")
    return verifier


def signer_for(pki: NcaPki, leaf: str) -> Callable[[bytes], str]:
    issued = pki.leaf(leaf)

    def sign(data: bytes) -> str:
        return base64.b64encode(sign_cms(data, issued.key, issued.certificate_der)).decode()

    return sign


async def api(
    url: str,
    method: str,
    path: str,
    *,
    json: Any = None,
    token: str | None = None,
    data: Any = None,
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{url}{path}", json=json, data=data, headers=headers) as response,
    ):
        return response.status, await response.json()


async def challenge(url: str) -> bytes:
    status, body = await api(url, "POST", "/api/auth/challenge")
    assert status == 200, body
    return base64.b64decode(body["nonce"])


async def eds_login(url: str, sign: Callable[[bytes], str]) -> tuple[int, dict[str, Any]]:
    """Challenge, sign the nonce as NCALayer would, post the CMS."""
    nonce = await challenge(url)
    return await api(url, "POST", "/api/auth/eds", json={"cms": sign(nonce)})
