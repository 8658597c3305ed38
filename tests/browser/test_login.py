"""EDS sign-in on /login: the page, NCALayer (faked) and the login API.

The page and its modules are served by a tiny aiohttp app started here (routes
``/login`` and ``/static/``, with the server's CSP), not by the Tyndau server.

CANNED SERVER: every test below answers ``/api/...`` from Playwright routes
(``CannedApi``) with JSON shaped like the contract of the login API, so the
UI flow is tested before the server side exists. Once the server lands, the
end-to-end test can be pointed at it.

PLUG-IN: ``test_eds_sign_in_end_to_end`` needs a real CMS: the ``cms_signer``
fixture makes it with the project's test PKI (``tests/support/nca_pki.py``);
without that module the test errors with "PLUG IN nca_pki" on purpose.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import importlib.util
import json
import os
import re
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, Route
from support.devices import DESKTOP, PHONE
from support.fake_ncalayer import (
    BASICS,
    COMMON_UTILS,
    DEFAULT_ERROR_MESSAGE,
    NCALAYER_HOST,
    NCALAYER_PORT,
    FakeNcaLayer,
)
from support.ports import free_port
from support.waiting import wait_until

from server.app import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web_client"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("TYNDAU_CHROMIUM", "/usr/bin/chromium")
# --ignore-certificate-errors is for tests only: the fake NCALayer's
# certificate is self-signed (a real NCALayer's is installed by its setup).
CHROMIUM_ARGS = [
    "--ignore-certificate-errors",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LANGUAGES = ("kk", "ru", "en")
STORAGE_KEY = "tyndau.session"
CANNED_TOKEN = "canned-session-1"  # what the canned login answer hands out

# Refusals of POST /api/auth/eds and /api/auth/challenge (the API contract).
SERVER_ERROR_CODES = {
    "invalid_payload",
    "payload_too_large",
    "cms_malformed",
    "unsupported_algorithm",
    "content_mismatch",
    "digest_mismatch",
    "signature_invalid",
    "nonce_unknown",
    "nonce_used",
    "nonce_expired",
    "certificate_untrusted",
    "certificate_expired",
    "certificate_not_yet_valid",
    "certificate_revoked",
    "key_usage_missing",
    "revocation_unknown",
    "too_many_challenges",
}
# Raised by the page itself (ncalayer.js, auth-api.js, session.js).
CLIENT_ERROR_CODES = {
    "ncalayer_not_running",
    "ncalayer_cancelled",
    "ncalayer_error",
    "ncalayer_timeout",
    "ncalayer_closed",
    "bad_response",
    "connection_failed",
    "session_expired",
    "session_too_old",
    "unauthorized",
    "not_found",
}

PERSON = {
    "iin": "880101300123",
    "bin": "",
    "name": "АХМЕТОВ ЕРЛАН",
    "surname": "АХМЕТОВ",
    "given_name": "ЕРЛАН",
    "patronymic": "СЕРІКҰЛЫ",
    "organization": "",
    "holder_kind": "individual",
}
MASKED_IIN = "••••••••0123"


def dictionary(lang: str) -> dict[str, str]:
    return json.loads((WEB / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))


STRINGS = {lang: dictionary(lang) for lang in LANGUAGES}


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def in_minutes(minutes: float, start: dt.datetime | None = None) -> str:
    return iso((start or dt.datetime.now(dt.UTC)) + dt.timedelta(minutes=minutes))


# ---------------------------------------------------------------- plug-in point


@pytest.fixture(scope="session")
def cms_signer() -> Callable[[bytes], str]:
    """PLUG-IN POINT: NCALayer's signature, made with the project's test PKI.

    Returns ``sign(data: bytes) -> str``: the base64 (standard alphabet) DER of
    a CMS SignedData over ``data`` as NCALayer's basics ``sign`` makes it with
    ``signingParams {decode: true, encapsulate: true, digested: false}``:
    content attached, signed attributes contentType, signingTime and
    messageDigest, the signer certificate included. The key is the valid GOST
    34.10-2015 (512) ``individual`` leaf of tests/support/nca_pki.py (what NCA
    issues today). The server side of the test using it is canned for now; with
    the real API, that leaf's person must exist in the court directory.
    """
    if importlib.util.find_spec("support.nca_pki") is None:
        pytest.fail(
            "PLUG IN nca_pki: tests/support/nca_pki.py does not exist; the cms_signer "
            "fixture in tests/browser/test_login.py needs its CMS signer."
        )
    from support.nca_pki import GOST512, pki, sign_cms

    leaf = pki(GOST512).leaf("individual")

    def sign(data: bytes) -> str:
        return base64.b64encode(sign_cms(data, leaf.key, leaf.certificate_der)).decode("ascii")

    return sign


# ---------------------------------------------------------------- static site


@web.middleware
async def _csp(request: web.Request, handler: Any) -> web.StreamResponse:
    response = await handler(request)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


async def _login_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB / "login.html", headers={"Cache-Control": "no-store"})


@pytest.fixture
async def site() -> AsyncIterator[str]:
    """The web client's files: ``/login`` and ``/static/``; the base URL."""
    app = web.Application(middlewares=[_csp])
    app.router.add_get("/login", _login_page)
    app.router.add_static("/static/", WEB, follow_symlinks=False)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------- canned login API

Answer = tuple[int, Any]


@dataclass
class ApiCall:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    query: str = ""


@dataclass
class CannedApi:
    """CANNED SERVER RESPONSES: the login API answered from Playwright routes.

    ``answers`` maps (method, path) to (status, JSON body); a list is a queue
    (its last answer repeats). Every request is kept in ``calls``.
    """

    answers: dict[tuple[str, str], Answer | list[Answer]] = field(default_factory=dict)
    calls: list[ApiCall] = field(default_factory=list)
    nonce: str = field(default_factory=lambda: base64.b64encode(secrets.token_bytes(32)).decode())

    def __post_init__(self) -> None:
        defaults: dict[tuple[str, str], Answer | list[Answer]] = {
            ("POST", "/api/auth/challenge"): (
                200,
                {"nonce": self.nonce, "expires_at": in_minutes(2)},
            ),
            ("POST", "/api/auth/eds"): (200, login_answer()),
            ("POST", "/api/auth/refresh"): (
                200,
                {"token": "canned-session-2", "expires_at": in_minutes(15)},
            ),
            ("POST", "/api/auth/logout"): (200, {"ok": True}),
            ("GET", "/api/me"): (
                200,
                {
                    "user_id": "u-1",
                    "iin": PERSON["iin"],
                    "name": PERSON["name"],
                    "roles": ["judge"],
                },
            ),
        }
        self.answers = {**defaults, **self.answers}

    def to(self, method: str, path: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method and c.path == path]

    async def install(self, page: Page) -> None:
        await page.route("**/api/**", self._handle)

    async def _handle(self, route: Route) -> None:
        request = route.request
        path = urlparse(request.url).path
        try:
            body = request.post_data_json
        except ValueError:
            body = request.post_data
        self.calls.append(
            ApiCall(
                request.method,
                path,
                await request.all_headers(),
                body,
                urlparse(request.url).query,
            )
        )
        answer = self.answers.get((request.method, path))
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if answer is None:
            answer = (404, {"error": {"code": "not_found", "message": "no such endpoint"}})
        status, payload = answer
        if isinstance(payload, str):
            await route.fulfill(status=status, content_type="text/html", body=payload)
        else:
            await route.fulfill(
                status=status, content_type="application/json", body=json.dumps(payload)
            )


def login_answer(roles: list[str] | None = None, minutes: float = 15) -> dict[str, Any]:
    return {
        "token": "canned-session-1",
        "expires_at": in_minutes(minutes),
        "user_id": "u-1",
        "person": PERSON,
        "roles": ["judge"] if roles is None else roles,
    }


def refusal(code: str, message: str = "refused") -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


# ---------------------------------------------------------------- browser and NCALayer


@pytest.fixture
def chromium_args() -> list[str]:
    return CHROMIUM_ARGS


StartNcaLayer = Callable[..., Awaitable[FakeNcaLayer]]


@pytest.fixture
async def ncalayer() -> AsyncIterator[StartNcaLayer]:
    """``await ncalayer(mode, sign=..., basics_missing=...)`` starts the fake on 127.0.0.1:13579."""
    started: list[FakeNcaLayer] = []

    async def start(mode: str = "normal", **kwargs: Any) -> FakeNcaLayer:
        fake = FakeNcaLayer(mode=mode, **kwargs)
        await fake.start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        await fake.stop()


def ncalayer_port_is_free() -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((NCALAYER_HOST, NCALAYER_PORT)) != 0


@dataclass
class LoginPage:
    page: Page
    context: BrowserContext
    api: CannedApi
    errors: list[str]

    async def sign_in(self) -> None:
        await self.page.click("#btn-sign-in")

    async def wait_error(self, code: str) -> None:
        await self.page.wait_for_selector(f'body[data-error="{code}"]', timeout=15_000)
        await self.page.wait_for_selector("#btn-sign-in:not([disabled])", timeout=5_000)

    async def error_text(self) -> str:
        return (await self.page.locator("#login-error-text").inner_text()).strip()

    async def session_storage(self) -> str | None:
        return await self.page.evaluate(f"sessionStorage.getItem('{STORAGE_KEY}')")

    async def store_session(self, session: dict[str, Any]) -> None:
        await self.page.evaluate(
            "([key, value]) => sessionStorage.setItem(key, value)",
            [STORAGE_KEY, json.dumps(session)],
        )


async def open_login(
    browser: Browser,
    site: str,
    api: CannedApi | None = None,
    *,
    lang: str | None = None,
    clock_at: dt.datetime | None = None,
    device: dict[str, Any] | None = None,
) -> LoginPage:
    context = await browser.new_context(**(device or DESKTOP))
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    if clock_at is not None:
        await page.clock.install(time=clock_at)
    api = api or CannedApi()
    await api.install(page)
    await page.goto(f"{site}/login" + (f"?lang={lang}" if lang else ""))
    await page.wait_for_selector("body[data-state=signed-out], body[data-state=signed-in]")
    return LoginPage(page, context, api, errors)


def stored_session(token: str = CANNED_TOKEN, minutes: float = 15, **kwargs: Any) -> dict:
    start = kwargs.pop("start", None)
    return {
        "token": token,
        "expiresAt": in_minutes(minutes, start),
        "userId": "u-1",
        "person": PERSON,
        "roles": ["judge"],
        **kwargs,
    }


async def assert_fits_the_screen(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


CONTRAST = """(selector) => {
  const el = document.querySelector(selector);
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  let node = el, bg = null;
  while (node) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.99)) { bg = c; break; }
    node = node.parentElement;
  }
  const fg = parse(getComputedStyle(el).color);
  const lum = ([r, g, b]) => [r, g, b].map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


async def assert_readable(page: Page, *selectors: str) -> None:
    for selector in selectors:
        ratio = await page.evaluate(CONTRAST, selector)
        assert ratio >= 4.5, f"{selector}: contrast {ratio:.2f} < 4.5 (WCAG AA)"


# ---------------------------------------------------------------- static checks


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.keys: set[str] = set()
        self.stack: list[bool] = []
        self.stray: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for attr in ("data-i18n", "data-i18n-aria-label", "data-i18n-title"):
            if names.get(attr):
                self.keys.add(str(names[attr]))
        if (tag == "script" and "src" not in names) or tag == "style" or "style" in names:
            self.inline.append(tag)
        if any(n.startswith("on") for n in names):
            self.inline.append(f"{tag} event handler")
        if tag in {"meta", "link", "br", "img", "input", "source", "path", "hr"}:
            return
        self.stack.append("data-i18n" in names or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in {"meta", "link", "br", "img", "input", "source", "path", "hr"}:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and not (self.stack and self.stack[-1]):
            self.stray.append(data.strip())


def test_login_html_is_translated_and_has_no_inline_code() -> None:
    collector = _Collector()
    collector.feed((WEB / "login.html").read_text(encoding="utf-8"))
    assert len(collector.keys) >= 10, collector.keys
    for lang, strings in STRINGS.items():
        missing = sorted(collector.keys - set(strings))
        assert not missing, f"login.html uses keys missing from {lang}.json: {missing}"
    assert not collector.stray, f"untranslated text in login.html: {collector.stray}"
    assert not collector.inline, f"inline code (the CSP forbids it): {collector.inline}"


def test_every_login_error_is_translated() -> None:
    for lang, strings in STRINGS.items():
        missing = sorted(
            code
            for code in SERVER_ERROR_CODES | CLIENT_ERROR_CODES
            if f"error.{code}" not in strings
        )
        assert not missing, f"{lang}.json lacks messages for {missing}"
    sources = "\n".join(p.read_text(encoding="utf-8") for p in WEB.glob("*.js"))
    for code in CLIENT_ERROR_CODES:
        assert f'"{code}"' in sources, f"client error code {code} is not used by the page"
    # NCALayer is downloadable from pki.gov.kz: the "not running" message says so.
    for strings in STRINGS.values():
        assert "pki.gov.kz" in strings["error.ncalayer_not_running"]


# ---------------------------------------------------------------- NCALayer failures (canned server)


@pytest.mark.parametrize("device", ["desktop", "phone"])
async def test_ncalayer_not_running(
    browser: Browser, site: str, artifacts: Path, device: str
) -> None:
    """CANNED SERVER. Nothing listens on 13579: the user is told to start NCALayer."""
    if not ncalayer_port_is_free():
        pytest.fail(f"something listens on {NCALAYER_HOST}:{NCALAYER_PORT} (a real NCALayer?)")
    login = await open_login(browser, site, device=PHONE if device == "phone" else DESKTOP)
    page = login.page
    assert await page.evaluate("document.documentElement.lang") == "kk"
    assert (await page.inner_text("#btn-sign-in")).strip() == STRINGS["kk"]["login.sign_in"]
    # Keyboard: the sign-in button has the focus and Enter starts the sign-in.
    assert await page.evaluate("document.activeElement.id") == "btn-sign-in"
    await page.screenshot(path=str(artifacts / f"login-form-{device}.png"))
    await page.keyboard.press("Enter")
    await login.wait_error("ncalayer_not_running")

    assert await login.error_text() == STRINGS["kk"]["error.ncalayer_not_running"]
    link = page.locator("#login-download a")
    assert await link.is_visible()
    assert "pki.gov.kz" in (await link.get_attribute("href") or "")
    assert len(login.api.to("POST", "/api/auth/challenge")) == 1
    assert login.api.to("POST", "/api/auth/eds") == []
    assert await page.evaluate("document.activeElement.id") == "btn-sign-in"
    await assert_fits_the_screen(page)
    await assert_readable(page, "#login-error-text", "#btn-sign-in span", ".login-hint")
    await page.screenshot(path=str(artifacts / f"login-ncalayer-not-running-{device}.png"))

    # The message follows a language switch.
    await page.select_option("#lang-select", "ru")
    await page.wait_for_selector('html[lang="ru"]')
    assert await login.error_text() == STRINGS["ru"]["error.ncalayer_not_running"]
    assert login.errors == []


async def test_ncalayer_cancelled(browser: Browser, site: str, ncalayer: StartNcaLayer) -> None:
    """CANNED SERVER. The user closes NCALayer's dialog: nothing is posted, nothing is stored."""
    fake = await ncalayer("cancel")
    login = await open_login(browser, site)
    await login.sign_in()
    await login.wait_error("ncalayer_cancelled")

    assert await login.error_text() == STRINGS["kk"]["error.ncalayer_cancelled"]
    assert not await login.page.locator("#login-download").is_visible()
    # The request NCALayer got: basics.sign over the server's nonce, in Kazakh.
    [request] = fake.requests_for(BASICS)
    assert request == {
        "module": BASICS,
        "method": "sign",
        "args": {
            "allowedStorages": [
                "PKCS12",
                "AKKaztokenStore",
                "AKKZIDCardStore",
                "AKEToken72KStore",
                "AKJaCartaStore",
            ],
            "format": "cms",
            "data": login.api.nonce,
            "signingParams": {"decode": True, "encapsulate": True, "digested": False},
            "signerParams": {"extKeyUsageOids": [], "chain": []},
            "locale": "kk",
        },
    }
    assert fake.requests_for(COMMON_UTILS) == []
    assert login.api.to("POST", "/api/auth/eds") == []
    assert await login.session_storage() is None
    assert login.errors == []


async def test_ncalayer_without_basics_falls_back_to_common_utils(
    browser: Browser, site: str, ncalayer: StartNcaLayer
) -> None:
    """CANNED SERVER. An older NCALayer: commonUtils is asked next; its cancel is understood."""
    fake = await ncalayer("cancel", basics_missing=True)
    login = await open_login(browser, site, lang="ru")
    await login.sign_in()
    await login.wait_error("ncalayer_cancelled")

    assert await login.error_text() == STRINGS["ru"]["error.ncalayer_cancelled"]
    [basics] = fake.requests_for(BASICS)
    assert basics["args"]["locale"] == "ru"
    [legacy] = fake.requests_for(COMMON_UTILS)
    assert legacy == {
        "module": COMMON_UTILS,
        "method": "createCMSSignatureFromBase64",
        "args": ["PKCS12", "SIGNATURE", login.api.nonce, True],
    }
    assert fake.connections == 1  # one WebSocket for both requests
    assert login.api.to("POST", "/api/auth/eds") == []
    assert login.errors == []


async def test_ncalayer_error_shows_its_message(
    browser: Browser, site: str, ncalayer: StartNcaLayer, artifacts: Path
) -> None:
    """CANNED SERVER. NCALayer refuses: our message, then NCALayer's own words."""
    await ncalayer("error")
    login = await open_login(browser, site, lang="en")
    await login.sign_in()
    await login.wait_error("ncalayer_error")

    assert await login.error_text() == STRINGS["en"]["error.ncalayer_error"]
    detail = login.page.locator("#login-error-detail")
    assert await detail.is_visible()
    assert (await detail.inner_text()).strip() == DEFAULT_ERROR_MESSAGE
    assert login.api.to("POST", "/api/auth/eds") == []
    await assert_readable(login.page, "#login-error-detail")
    await login.page.screenshot(path=str(artifacts / "login-ncalayer-error-desktop.png"))
    assert login.errors == []


async def test_ncalayer_that_never_answers_times_out(
    browser: Browser, site: str, ncalayer: StartNcaLayer
) -> None:
    """CANNED SERVER. The dialog stays open: after two minutes the page gives up."""
    fake = await ncalayer("hang")
    login = await open_login(browser, site, clock_at=dt.datetime.now(dt.UTC))
    await login.sign_in()
    await wait_until(lambda: len(fake.requests) == 1, 10, "the sign request")
    status = login.page.locator("#login-status")
    assert (await status.inner_text()).strip() == STRINGS["kk"]["login.step_ncalayer"]
    assert await login.page.is_disabled("#btn-sign-in")

    await login.page.clock.fast_forward("01:50")
    assert await login.page.is_disabled("#btn-sign-in")  # still waiting for the user
    await login.page.clock.fast_forward("00:15")
    await login.wait_error("ncalayer_timeout")
    assert await login.error_text() == STRINGS["kk"]["error.ncalayer_timeout"]
    assert login.api.to("POST", "/api/auth/eds") == []
    assert login.errors == []


# ---------------------------------------------------------------- server refusals (canned server)


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ((429, refusal("too_many_challenges")), "too_many_challenges"),
        ((503, "<html>Bad gateway</html>"), "internal_error"),
        ((200, {"expires_at": "2026-01-01T00:00:00Z"}), "bad_response"),
    ],
    ids=["429", "html-503", "no-nonce"],
)
async def test_challenge_refused(browser: Browser, site: str, answer: Answer, code: str) -> None:
    """CANNED SERVER. The challenge request fails: translated, and NCALayer is not asked."""
    api = CannedApi(answers={("POST", "/api/auth/challenge"): answer})
    login = await open_login(browser, site, api)
    await login.sign_in()
    await login.wait_error(code)
    assert await login.error_text() == STRINGS["kk"][f"error.{code}"]
    assert login.errors == []


# ---------------------------------------------------------------- signed in (canned server)


async def test_signed_in_view_roles_language_and_logout(
    browser: Browser, site: str, artifacts: Path
) -> None:
    """CANNED SERVER. A session kept in sessionStorage: who, translated roles, logout."""
    api = CannedApi(
        answers={
            ("GET", "/api/me"): (
                200,
                {
                    "user_id": "u-1",
                    "iin": PERSON["iin"],
                    "name": PERSON["name"],
                    "roles": ["judge", "secretary", "court_clerk_x"],
                },
            )
        }
    )
    for device, options in (("desktop", DESKTOP), ("phone", PHONE)):
        login = await open_login(browser, site, api, device=options)
        page = login.page
        await login.store_session(stored_session())
        await page.reload()
        await page.wait_for_selector("body[data-state=signed-in]")
        await page.wait_for_selector('#account-roles li[data-role="secretary"]')

        assert (await page.inner_text("#account-name")).strip() == PERSON["name"]
        assert (await page.inner_text("#account-iin")).strip() == MASKED_IIN
        assert PERSON["iin"] not in await page.content()
        roles = [r.strip() for r in await page.locator("#account-roles li").all_inner_texts()]
        kk = STRINGS["kk"]
        assert roles == [kk["role.judge"], kk["role.secretary"], "court_clerk_x"]
        me = api.to("GET", "/api/me")[-1]
        assert me.headers["authorization"] == "Bearer canned-session-1"
        # The token is in sessionStorage, never in localStorage.
        assert "canned-session-1" in (await login.session_storage() or "")
        local = await page.evaluate("JSON.stringify(Object.assign({}, localStorage))")
        assert "canned-session" not in local
        await assert_fits_the_screen(page)
        await assert_readable(page, "#account-name", "#account-roles li", "#btn-sign-out span")
        await page.screenshot(path=str(artifacts / f"login-signed-in-{device}.png"))

        # Roles follow a language switch.
        await page.select_option("#lang-select", "en")
        await page.wait_for_selector('html[lang="en"]')
        roles = [r.strip() for r in await page.locator("#account-roles li").all_inner_texts()]
        assert roles[:2] == [STRINGS["en"]["role.judge"], STRINGS["en"]["role.secretary"]]

        # Logout: the server is told, the token forgotten, the form is back.
        await page.click("#btn-sign-out")
        await page.wait_for_selector("body[data-state=signed-out]")
        await wait_until(lambda: len(api.to("POST", "/api/auth/logout")) >= 1, 5, "logout")
        logout = api.to("POST", "/api/auth/logout")[-1]
        assert logout.headers["authorization"] == "Bearer canned-session-1"
        assert await login.session_storage() is None
        assert (await page.inner_text("#login-status")).strip() == STRINGS["en"]["login.signed_out"]
        assert await page.evaluate("document.activeElement.id") == "btn-sign-in"
        api.calls.clear()
        assert login.errors == []
        await login.context.close()


async def test_no_court_role(browser: Browser, site: str) -> None:
    """CANNED SERVER. A person with no court role is told so."""
    api = CannedApi(
        answers={
            ("GET", "/api/me"): (
                200,
                {"user_id": "u-2", "iin": "900202400456", "name": "Иванова Анна", "roles": []},
            )
        }
    )
    login = await open_login(browser, site, api, lang="ru")
    await login.store_session(stored_session(roles=[]))
    await login.page.reload()
    await login.page.wait_for_selector("#account-roles li.no-role")
    assert (await login.page.inner_text("#account-roles")).strip() == STRINGS["ru"]["login.no_role"]
    assert (await login.page.inner_text("#account-name")).strip() == "Иванова Анна"
    assert (await login.page.inner_text("#account-iin")).strip() == "••••••••0456"
    assert login.errors == []


async def test_session_refreshed_before_expiry_then_ended(browser: Browser, site: str) -> None:
    """CANNED SERVER. The token is refreshed a minute before it expires; a 401 ends the session."""
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    api = CannedApi(
        answers={
            ("POST", "/api/auth/refresh"): [
                (200, {"token": "canned-session-2", "expires_at": in_minutes(30, start)}),
                (401, refusal("token_expired")),
            ]
        }
    )
    login = await open_login(browser, site, api, clock_at=start)
    page = login.page
    await login.store_session(stored_session(minutes=15, start=start))
    await page.reload()
    await page.wait_for_selector("body[data-state=signed-in]")

    await page.clock.fast_forward("13:30")
    assert api.to("POST", "/api/auth/refresh") == []  # not yet: 90 s before expiry
    await page.clock.fast_forward("00:45")
    await wait_until(lambda: len(api.to("POST", "/api/auth/refresh")) == 1, 5, "a refresh")
    refresh = api.to("POST", "/api/auth/refresh")[0]
    assert refresh.headers["authorization"] == "Bearer canned-session-1"
    # (Polled from here: the page's own timers and animation frames are faked.)
    for _ in range(100):
        if "canned-session-2" in (await login.session_storage() or ""):
            break
        await asyncio.sleep(0.05)
    assert "canned-session-2" in (await login.session_storage() or "")
    assert await page.get_attribute("body", "data-state") == "signed-in"

    # The next refresh (a minute before 30:00) is refused: back to the form.
    await page.clock.fast_forward("15:00")
    await login.wait_error("session_expired")
    refresh = api.to("POST", "/api/auth/refresh")[1]
    assert refresh.headers["authorization"] == "Bearer canned-session-2"
    assert await login.error_text() == STRINGS["kk"]["error.session_expired"]
    assert await login.session_storage() is None
    assert login.errors == []


async def test_expired_stored_session_is_dropped(browser: Browser, site: str) -> None:
    """CANNED SERVER. A stored session past its expiry is not shown, and is forgotten."""
    login = await open_login(browser, site)
    await login.store_session(stored_session(minutes=-1))
    await login.page.reload()
    await login.page.wait_for_selector("body[data-state=signed-out]")
    assert await login.session_storage() is None
    assert login.api.to("GET", "/api/me") == []


# ---------------------------------------------------------------- end to end (PLUG-IN)


@pytest.mark.parametrize("basics_missing", [False, True], ids=["basics", "commonUtils"])
async def test_eds_sign_in_end_to_end(
    browser: Browser,
    site: str,
    ncalayer: StartNcaLayer,
    cms_signer: Callable[[bytes], str],
    artifacts: Path,
    basics_missing: bool,
) -> None:
    """PLUG-IN (cms_signer: a real GOST CMS from nca_pki) + CANNED SERVER answers.

    NCALayer signs the server's nonce with a test-PKI key; the page posts that
    CMS to /api/auth/eds, shows who signed in and keeps the token in
    sessionStorage; logout forgets it. Then a refusal (certificate_revoked) is
    shown translated. To run against the real server, drop the canned routes
    and serve the page from it.
    """
    fake = await ncalayer("normal", sign=cms_signer, basics_missing=basics_missing)
    login = await open_login(browser, site)
    page = login.page
    await login.sign_in()
    await page.wait_for_selector("body[data-state=signed-in]", timeout=15_000)
    assert fake.errors == []

    # NCALayer signed exactly the server's nonce, and the page posted its CMS as is.
    [(signed_data, cms)] = fake.signed
    assert signed_data == base64.b64decode(login.api.nonce)
    [posted] = login.api.to("POST", "/api/auth/eds")
    assert posted.body == {"cms": cms}
    from asn1crypto import cms as asn1_cms  # nca_pki's dependency

    content_info = asn1_cms.ContentInfo.load(base64.b64decode(cms))
    encapsulated = content_info["content"]["encap_content_info"]["content"].native
    assert encapsulated == base64.b64decode(login.api.nonce)
    assert posted.headers["content-type"].startswith("application/json")
    used = COMMON_UTILS if basics_missing else BASICS
    assert fake.requests[-1]["module"] == used

    assert (await page.inner_text("#account-name")).strip() == PERSON["name"]
    assert (await page.inner_text("#account-iin")).strip() == MASKED_IIN
    assert (await page.inner_text("#account-roles")).strip() == STRINGS["kk"]["role.judge"]
    assert "canned-session-1" in (await login.session_storage() or "")
    suffix = "commonutils" if basics_missing else "basics"
    await page.screenshot(path=str(artifacts / f"login-e2e-signed-in-{suffix}-desktop.png"))
    await page.set_viewport_size(PHONE["viewport"])
    await assert_fits_the_screen(page)
    await page.screenshot(path=str(artifacts / f"login-e2e-signed-in-{suffix}-phone.png"))

    await page.click("#btn-sign-out")
    await page.wait_for_selector("body[data-state=signed-out]")
    await wait_until(lambda: len(login.api.to("POST", "/api/auth/logout")) == 1, 5, "logout")
    assert await login.session_storage() is None

    # The server refuses the next signature: its code is translated.
    login.api.answers[("POST", "/api/auth/eds")] = (400, refusal("certificate_revoked"))
    await login.sign_in()
    await login.wait_error("certificate_revoked")
    assert await login.error_text() == STRINGS["kk"]["error.certificate_revoked"]
    assert len(fake.signed) == 2
    assert await login.session_storage() is None
    assert login.errors == []


def test_fake_ncalayer_requires_a_signer_to_sign() -> None:
    with pytest.raises(ValueError, match="signs"):
        FakeNcaLayer(mode="normal")
    with pytest.raises(ValueError, match="signs"):
        FakeNcaLayer(mode="basics_missing")
    assert re.fullmatch(r"wss://127\.0\.0\.1:13579/", FakeNcaLayer(mode="cancel").url)


async def test_eds_sign_in_against_the_real_server(
    browser: Browser,
    tyndau: Any,
    ncalayer: StartNcaLayer,
    cms_signer: Callable[[bytes], str],
    artifacts: Path,
) -> None:
    """No canned answers: the Tyndau server checks the test PKI's GOST signature and its CRL."""
    from support.eds_login import verifier_for
    from support.nca_pki import GOST512, IIN_INDIVIDUAL, pki

    tyndau.ctx.eds = verifier_for(pki(GOST512))
    await tyndau.ctx.directory.upsert(
        iin=IIN_INDIVIDUAL, full_name="Тестов Тест Тестович", roles=["judge"]
    )
    fake = await ncalayer("normal", sign=cms_signer)
    context = await browser.new_context(**DESKTOP)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{tyndau.url}/login")
    await page.click("#btn-sign-in")
    await page.wait_for_selector("body[data-state=signed-in]", timeout=20_000)
    assert fake.errors == []
    body = await page.locator("body").inner_text()
    assert "ТЕСТОВ ТЕСТ" in body  # the name the certificate carries
    assert "судья" in body.lower()
    stored = json.loads(await page.evaluate(f"sessionStorage.getItem('{STORAGE_KEY}')"))
    claims = tyndau.ctx.verifier.verify_session(stored["token"])
    assert claims.iin == IIN_INDIVIDUAL
    assert claims.roles == ("judge",)
    await page.screenshot(path=str(artifacts / "login-real-server-signed-in.png"))
    assert errors == []
    await context.close()


# ---------------------------------------------------------------- the day's hearings


async def hearing_rows(page: Page) -> list[dict[str, Any]]:
    """What the day's list shows, row by row."""
    return await page.eval_on_selector_all(
        "#day-list li.day-item",
        """(items) => items.map((li) => ({
            id: li.dataset.hearingId,
            time: li.querySelector('.day-time').textContent.trim(),
            case: li.querySelector('.day-case').textContent.trim(),
            title: li.querySelector('.day-hearing-title').textContent.trim(),
            kind: li.querySelector('.day-kind').textContent.trim(),
            state: li.querySelector('.day-state').textContent.trim(),
            enabled: !li.querySelector('.day-enter').disabled,
        }))""",
    )


def canned_hearing(hearing_id: str, number: str, at: str, state: str = "open") -> dict[str, Any]:
    return {
        "id": hearing_id,
        "case_number": number,
        "title": f"Іс {number}",
        "kind": "court_hearing",
        "is_open": True,
        "state": state,
        "court": "Астана",
        "scheduled_at": at,
        "language": "kk",
    }


async def test_todays_hearings_against_the_real_server(
    browser: Browser,
    tyndau: Any,
    ncalayer: StartNcaLayer,
    cms_signer: Callable[[bytes], str],
    artifacts: Path,
) -> None:
    """A judge signs in by EDS, sees their own hearings of the day and enters the first."""
    from zoneinfo import ZoneInfo

    from support.eds_login import verifier_for
    from support.nca_pki import GOST512, IIN_INDIVIDUAL, pki
    from support.running import TEST_COURT

    from server.procedure.states import HearingState

    zone = ZoneInfo(tyndau.ctx.settings.court_timezone)
    tyndau.ctx.eds = verifier_for(pki(GOST512))
    judge = await tyndau.ctx.directory.upsert(
        iin=IIN_INDIVIDUAL, full_name="Тестов Тест Тестович", roles=["judge"], court=TEST_COURT
    )
    other = await tyndau.ctx.directory.upsert(
        iin="900101300999", full_name="Басқа Судья", roles=["judge"], court=TEST_COURT
    )
    # Both on today's date in the courts' time zone: an hour and two from now,
    # else at noon and one. Given in UTC, and on the same UTC date: on SQLite
    # the server compares and stores scheduled_at as wall-clock time whatever
    # its offset (a server bug, reported; PostgreSQL is right).
    now = dt.datetime.now(zone).replace(second=0, microsecond=0)
    times = [now + dt.timedelta(hours=1), now + dt.timedelta(hours=2)]
    if any(t.date() != now.date() or t.astimezone(dt.UTC).date() != now.date() for t in times):
        noon = dt.datetime.combine(now.date(), dt.time(12), zone)
        times = [noon, noon + dt.timedelta(hours=1)]
    assert {t.date() for t in times} == {now.date()}
    # Scheduled out of order: the list is by time.
    second = await tyndau.ctx.hearings.schedule(
        case_number="7599-25-00-1/0202",
        title="Санкция: қамауға алу (екінші)",
        kind="sanction_session",
        court=TEST_COURT,
        judge_id=judge.id,
        scheduled_at=times[1].astimezone(dt.UTC),
        state=HearingState.OPEN,
        is_open=False,
    )
    first = await tyndau.ctx.hearings.schedule(
        case_number="7599-25-00-1/0101",
        title="Санкция: қамауға алу",
        kind="sanction_session",
        court=TEST_COURT,
        judge_id=judge.id,
        scheduled_at=times[0].astimezone(dt.UTC),
        state=HearingState.OPEN,
        is_open=False,
    )
    await tyndau.ctx.hearings.schedule(
        case_number="7599-25-00-1/0303",
        title="Басқа судьяның ісі",
        kind="sanction_session",
        court=TEST_COURT,
        judge_id=other.id,
        scheduled_at=times[0].astimezone(dt.UTC),
        state=HearingState.OPEN,
        is_open=False,
    )

    fake = await ncalayer("normal", sign=cms_signer)
    context = await browser.new_context(**DESKTOP, timezone_id=tyndau.ctx.settings.court_timezone)
    await context.grant_permissions(["camera", "microphone"])
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{tyndau.url}/login")
    await page.click("#btn-sign-in")
    await page.wait_for_selector("body[data-state=signed-in]", timeout=20_000)
    await page.wait_for_selector("#day-panel[data-status=ready]", timeout=10_000)
    assert fake.errors == []

    kk = STRINGS["kk"]
    assert (await page.inner_text("#day-title")).strip() == kk["day.title_today"]
    assert await page.input_value("#day-date") == now.date().isoformat()
    rows = await hearing_rows(page)
    assert [r["id"] for r in rows] == [first.id, second.id]
    assert [r["case"] for r in rows] == ["7599-25-00-1/0101", "7599-25-00-1/0202"]
    assert [r["time"] for r in rows] == [t.strftime("%H:%M") for t in times]
    assert rows[0]["title"] == "Санкция: қамауға алу"
    assert {r["kind"] for r in rows} == {kk["day.kind_sanction_session"]}
    assert {r["state"] for r in rows} == {kk["day.state_open"]}
    assert all(r["enabled"] for r in rows)
    await assert_readable(page, ".day-time", ".day-case", ".day-state", ".day-enter span")
    await page.screenshot(path=str(artifacts / "login-day-list-desktop.png"), full_page=True)
    await page.set_viewport_size(PHONE["viewport"])
    await assert_fits_the_screen(page)
    await page.screenshot(path=str(artifacts / "login-day-list-phone.png"), full_page=True)
    await page.set_viewport_size(DESKTOP["viewport"])

    # Enter: a hearing token for the judge's seat, opened on this origin.
    async with page.expect_request(f"**/api/hearings/{first.id}/join") as joining:
        await page.click(f'#day-list li[data-hearing-id="{first.id}"] .day-enter')
    request = await joining.value
    assert request.method == "POST"
    assert (await request.all_headers())["authorization"].startswith("Bearer ")
    await page.wait_for_selector("body[data-state=joined]", timeout=20_000)
    url = urlparse(page.url)
    # This origin (not the server's TYNDAU_PUBLIC_URL), the token never in the query.
    assert (url.scheme, url.netloc, url.path, url.query) == (
        "http",
        urlparse(tyndau.url).netloc,
        "/join",
        "",
    )
    assert await page.evaluate("window.tyndau.hearing && window.tyndau.hearing.id") == first.id
    assert await page.evaluate("window.tyndau.self && window.tyndau.self.role") == "judge"
    [seat] = await tyndau.ctx.hearings.seats(first.id)
    assert (seat.role, seat.user_id) == ("judge", judge.id)
    assert await tyndau.ctx.hearings.seats(second.id) == []
    await page.screenshot(path=str(artifacts / "login-day-list-entered.png"))
    assert errors == []
    await context.close()


async def test_no_court_role_sees_no_hearings(browser: Browser, site: str) -> None:
    """CANNED SERVER. Only a judge or secretary gets the day's list; nobody else asks for it."""
    for roles in ([], ["prosecutor"]):
        api = CannedApi(
            answers={
                ("GET", "/api/me"): (
                    200,
                    {"user_id": "u-2", "iin": PERSON["iin"], "name": "Иванова", "roles": roles},
                )
            }
        )
        login = await open_login(browser, site, api)
        await login.store_session(stored_session(roles=roles))
        await login.page.reload()
        await login.page.wait_for_selector("body[data-state=signed-in]")
        await wait_until(lambda api=api: len(api.to("GET", "/api/me")) == 1, 5, "GET /api/me")
        assert await login.page.is_hidden("#day-panel")
        assert api.to("GET", "/api/hearings") == []
        assert login.errors == []
        await login.context.close()


async def wait_until_true(page: Page, expression: str, timeout: float = 20.0) -> None:
    """Poll a JS expression (the page's CSP forbids wait_for_function's eval)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await page.evaluate(expression):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still false after {timeout}s: {expression}")
        await asyncio.sleep(0.1)


async def test_a_closed_hearings_recording_opens_in_the_player(
    browser: Browser, tyndau: Any, artifacts: Path
) -> None:
    """The real server: a judge's closed hearing with a sealed recording links to the player.

    An open hearing and a closed one without a recording keep the Enter button.
    The session is the one /login keeps in sessionStorage (signed in earlier).
    """
    from zoneinfo import ZoneInfo

    from support.recordings import make_mp4, seal_test_recording
    from support.running import TEST_COURT

    from server.procedure.states import HearingState, StateAct

    ctx = tyndau.ctx
    zone = ZoneInfo(ctx.settings.court_timezone)
    judge = await ctx.directory.upsert(
        iin=PERSON["iin"], full_name=PERSON["name"], roles=["judge"], court=TEST_COURT
    )
    # Today in the courts' time zone, on the same UTC date (see the test above).
    now = dt.datetime.now(zone).replace(second=0, microsecond=0)
    times = [now - dt.timedelta(hours=h) for h in (3, 2, 1)]
    if any(t.date() != now.date() or t.astimezone(dt.UTC).date() != now.date() for t in times):
        noon = dt.datetime.combine(now.date(), dt.time(12), zone)
        times = [noon + dt.timedelta(hours=h) for h in (0, 1, 2)]
    hearings = []
    for n, at in enumerate(times, start=1):
        hearings.append(
            await ctx.hearings.schedule(
                case_number=f"7599-25-00-1/070{n}",
                title=f"Санкция: қамауға алу ({n})",
                kind="sanction_session",
                court=TEST_COURT,
                judge_id=judge.id,
                scheduled_at=at.astimezone(dt.UTC),
                state=HearingState.OPEN,
                is_open=False,
            )
        )
    recorded, unrecorded, still_open = hearings
    for hearing in (recorded, unrecorded):
        await ctx.hearings.change_state(hearing.id, StateAct.CLOSE)
    mixed = await asyncio.to_thread(make_mp4, 3.0)
    await seal_test_recording(ctx, recorded, mixed=mixed, duration=3.0)
    assert recorded.case_id is not None

    token, expires = ctx.issuer.issue_session(
        user_id=judge.id, iin=PERSON["iin"], name=PERSON["name"], roles=["judge"]
    )
    session = {
        "token": token,
        "expiresAt": iso(dt.datetime.fromtimestamp(expires, dt.UTC)),
        "userId": judge.id,
        "person": PERSON,
        "roles": ["judge"],
    }
    context = await browser.new_context(**DESKTOP, timezone_id=ctx.settings.court_timezone)
    await context.add_init_script(
        f"sessionStorage.setItem({json.dumps(STORAGE_KEY)}, {json.dumps(json.dumps(session))});"
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{tyndau.url}/login")
    await page.wait_for_selector("#day-panel[data-status=ready]", timeout=20_000)

    rows = await page.eval_on_selector_all(
        "#day-list li.day-item",
        """(items) => items.map((li) => {
            const enter = li.querySelector('.day-enter');
            const link = li.querySelector('a.day-recording');
            return {
                id: li.dataset.hearingId,
                enter: enter ? !enter.disabled : null,
                link: link ? link.getAttribute('href') : null,
                label: link ? link.textContent.trim() : null,
            };
        })""",
    )
    player_path = f"/player#case={recorded.case_id}&hearing={recorded.id}"
    assert rows == [
        {
            "id": recorded.id,
            "enter": None,
            "link": player_path,
            "label": STRINGS["kk"]["day.recording"],
        },
        {"id": unrecorded.id, "enter": False, "link": None, "label": None},
        {"id": still_open.id, "enter": True, "link": None, "label": None},
    ]
    await assert_readable(page, ".day-recording span")
    await page.screenshot(path=str(artifacts / "login-day-list-recording.png"), full_page=True)
    await page.set_viewport_size(PHONE["viewport"])
    await assert_fits_the_screen(page)
    await page.screenshot(
        path=str(artifacts / "login-day-list-recording-phone.png"), full_page=True
    )
    await page.set_viewport_size(DESKTOP["viewport"])

    # The link opens the player on that hearing, in this tab, with this session.
    await page.click(f'#day-list li[data-hearing-id="{recorded.id}"] a.day-recording')
    await page.wait_for_selector("body[data-state=ready]", timeout=20_000)
    url = urlparse(page.url)
    assert (url.path, url.fragment) == ("/player", f"case={recorded.case_id}&hearing={recorded.id}")
    assert recorded.case_number in await page.locator("#player-case").inner_text()
    assert await page.locator(".player-event").count() >= 1
    await wait_until_true(page, "document.getElementById('player-video').readyState >= 2")
    await page.screenshot(path=str(artifacts / "login-day-list-recording-player.png"))
    # The court's own judge, audited as such.
    viewed = [e for e in await ctx.audit.entries() if e.hearing_id == recorded.id]
    assert viewed and {(e.user_id, e.reason) for e in viewed} == {(judge.id, "court")}
    assert errors == []
    await context.close()


async def test_day_list_dates_empty_day_and_refusals(
    browser: Browser, site: str, artifacts: Path
) -> None:
    """CANNED SERVER. A secretary: local times, another date, an empty day, translated refusals."""
    secretary = {"user_id": "u-3", "iin": PERSON["iin"], "name": "Хатшы", "roles": ["secretary"]}
    today = [
        canned_hearing("h-1", "7599-25-00-2/11", "2025-03-07T04:30:00+00:00"),
        canned_hearing("h-2", "7599-25-00-2/12", "2025-03-07T09:05:00+00:00", "closed"),
    ]
    api = CannedApi(
        answers={
            ("GET", "/api/me"): (200, secretary),
            ("GET", "/api/hearings"): [
                (200, {"date": "2025-03-07", "hearings": today}),
                (200, {"date": "2025-03-08", "hearings": []}),
                (400, refusal("not_in_directory")),
            ],
            ("POST", "/api/hearings/h-1/join"): (403, refusal("no_seat")),
        }
    )
    context_options = {**PHONE, "timezone_id": "Europe/Moscow"}  # UTC+3
    login = await open_login(browser, site, api, lang="ru", device=context_options)
    page = login.page
    await login.store_session(stored_session(roles=["secretary"]))
    await page.reload()
    await page.wait_for_selector("#day-panel[data-status=ready]")
    ru = STRINGS["ru"]
    [first_call] = api.to("GET", "/api/hearings")
    assert first_call.query == ""  # the server's today
    assert first_call.headers["authorization"] == f"Bearer {CANNED_TOKEN}"
    assert await page.input_value("#day-date") == "2025-03-07"
    rows = await hearing_rows(page)
    assert [(r["time"], r["case"], r["enabled"]) for r in rows] == [
        ("07:30", "7599-25-00-2/11", True),
        ("12:05", "7599-25-00-2/12", False),
    ]
    assert [r["state"] for r in rows] == [ru["day.state_open"], ru["day.state_closed"]]
    assert rows[0]["kind"] == ru["day.kind_court_hearing"]
    await assert_fits_the_screen(page)

    # Refused: the message in the page's error style, the list stays.
    await page.tap('#day-list li[data-hearing-id="h-1"] .day-enter')
    await page.wait_for_selector("#day-panel[data-error=no_seat]")
    assert (await page.inner_text("#day-error-text")).strip() == ru["error.no_seat"]
    assert (await page.inner_text("#day-error-title")).strip() == ru["day.join_error_title"]
    assert urlparse(page.url).path == "/login"
    assert await page.is_enabled('#day-list li[data-hearing-id="h-1"] .day-enter')
    await assert_readable(page, "#day-error-text")
    await page.screenshot(path=str(artifacts / "login-day-list-refused-phone.png"), full_page=True)

    # Another day: asked for by date; nothing on it.
    await page.fill("#day-date", "2025-03-08")
    await page.wait_for_selector("#day-panel[data-status=empty]")
    assert api.to("GET", "/api/hearings")[-1].query == "date=2025-03-08"
    assert await page.is_hidden("#day-error")
    assert (await page.inner_text("#day-status")).strip() == ru["day.empty"]
    assert (await page.inner_text("#day-title")).strip() == ru["day.title_date"].format(
        date="08.03.2025"
    )
    assert await page.locator("#day-list li").count() == 0

    # The list refused: translated; the language switch follows.
    await page.tap("#btn-day-refresh")
    await page.wait_for_selector("#day-panel[data-error=not_in_directory]")
    assert (await page.inner_text("#day-error-text")).strip() == ru["error.not_in_directory"]
    await page.select_option("#lang-select", "en")
    await page.wait_for_selector('html[lang="en"]')
    en = STRINGS["en"]
    assert (await page.inner_text("#day-error-text")).strip() == en["error.not_in_directory"]
    assert (await page.inner_text("#day-error-title")).strip() == en["day.list_error_title"]
    assert login.errors == []
    await login.context.close()
