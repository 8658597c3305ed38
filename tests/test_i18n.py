"""The web client's translations (web_client/i18n/{kk,ru,en}.json).

Kazakh is the default language, Russian and English follow. Every key the
client can show must exist, non-empty, in all three: the keys the JS modules
and index.html reference, every error code of docs/signaling.md (shown as
``error.<code>``) and every procedural role (``role.<role>``).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web_client"
I18N = WEB / "i18n"
LANGUAGES = ("kk", "ru", "en")

# Roles the client labels; tokens.md lists the common ones, the rest come from
# the court's procedural roles (detention facilities, civil cases, ...).
ROLES = {
    "judge",
    "secretary",
    "prosecutor",
    "lawyer",
    "defendant",
    "detainee",
    "witness",
    "expert",
    "interpreter",
    "observer",
    "investigator",
    "victim",
    "plaintiff",
    "respondent",
    "representative",
    "facility_officer",
}

# Client-side error codes raised outside a literal the scan below can see
# (messages for camera/microphone problems and a lost connection).
CLIENT_ERROR_CODES = {
    "unknown",
    "media_denied",
    "media_not_found",
    "media_busy",
    "media_unsupported",
    "media_failed",
    "connection_lost",
    "connection_failed",
    "connection_closed",
    "request_timeout",
}

# t("key") / t('key', ...) in the modules.
T_CALL = re.compile(r"""\bt\(\s*["']([^"'$`{}]+)["']""")
# Any string literal shaped like a key of a known namespace ("error.forbidden"):
# catches keys passed around (setText(el, "state.joined"), ternaries, maps).
KEY_LITERAL = r"""["'`]((?:{namespaces})\.[a-z0-9_]+)["'`]"""
# Error codes raised in the client: new TyndauError("code"), showError("code"),
# noticeForError("code"), fail("code"), errorCode(err, "fallback_code").
CODE_CALL = re.compile(
    r"""(?:new\s+TyndauError\(|showError\(|noticeForError\(|\bfail\(|errorCode\(\s*\w+\s*,)"""
    r"""\s*["']([a-z0-9_]+)["']"""
)
# data-i18n="key", data-i18n-aria-label="key", data-i18n-title="key".
HTML_KEY = re.compile(r"""data-i18n(?:-aria-label|-title)?="([^"]+)\"""")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def load(lang: str) -> dict[str, str]:
    with (I18N / f"{lang}.json").open(encoding="utf-8") as f:
        data = json.load(f)
    assert isinstance(data, dict), f"{lang}.json is not an object"
    return data


@pytest.fixture(scope="module")
def dictionaries() -> dict[str, dict[str, str]]:
    return {lang: load(lang) for lang in LANGUAGES}


def js_sources() -> dict[str, str]:
    files = sorted(p for p in WEB.glob("*.js"))
    assert files, "no JS modules in web_client/"
    return {p.name: p.read_text(encoding="utf-8") for p in files}


def html_source() -> str:
    return (WEB / "index.html").read_text(encoding="utf-8")


def referenced_keys(known_keys: set[str]) -> dict[str, set[str]]:
    """Keys referenced by the client, by file."""
    namespaces = sorted({k.split(".", 1)[0] for k in known_keys if "." in k})
    literal = re.compile(KEY_LITERAL.format(namespaces="|".join(map(re.escape, namespaces))))
    found: dict[str, set[str]] = {}
    for name, text in js_sources().items():
        keys = set(T_CALL.findall(text)) | set(literal.findall(text))
        keys |= {f"error.{code}" for code in CODE_CALL.findall(text)}
        found[name] = keys
    found["index.html"] = set(HTML_KEY.findall(html_source()))
    return found


def signaling_error_codes() -> set[str]:
    """The codes in the `| code | meaning |` tables of docs/signaling.md."""
    lines = (ROOT / "docs" / "signaling.md").read_text(encoding="utf-8").splitlines()
    codes: set[str] = set()
    in_table = False
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and cells[:2] == ["code", "meaning"]:
            in_table = True
            continue
        if not line.lstrip().startswith("|"):
            in_table = False
            continue
        if in_table:
            match = re.fullmatch(r"`([a-z0-9_]+)`", cells[0])
            if match:
                codes.add(match.group(1))
    return codes


def test_languages_have_identical_keys(dictionaries):
    reference = set(dictionaries["kk"])
    for lang, strings in dictionaries.items():
        keys = set(strings)
        assert keys == reference, (
            f"{lang}.json differs from kk.json: missing {sorted(reference - keys)}, "
            f"extra {sorted(keys - reference)}"
        )


def test_no_empty_values(dictionaries):
    for lang, strings in dictionaries.items():
        bad = sorted(k for k, v in strings.items() if not isinstance(v, str) or not v.strip())
        assert not bad, f"{lang}.json has empty or non-string values: {bad}"


def test_placeholders_match_across_languages(dictionaries):
    for key, kk_value in dictionaries["kk"].items():
        expected = set(PLACEHOLDER.findall(kk_value))
        for lang in LANGUAGES[1:]:
            got = set(PLACEHOLDER.findall(dictionaries[lang][key]))
            assert got == expected, f"{lang}.json {key}: placeholders {got} != {expected}"


def test_translations_are_actually_translated(dictionaries):
    # Kazakh and Russian text is Cyrillic; a copied English string is a bug.
    cyrillic = re.compile(r"[\u0400-\u04FF]")
    for lang in ("kk", "ru"):
        latin_only = sorted(
            k
            for k, v in dictionaries[lang].items()
            if not cyrillic.search(v) and not k.startswith("lang.")
        )
        assert not latin_only, f"{lang}.json has untranslated values: {latin_only}"
    # Kazakh-specific letters must appear in the Kazakh file, not in the Russian.
    kazakh_letters = re.compile("[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")
    assert any(kazakh_letters.search(v) for v in dictionaries["kk"].values())
    assert dictionaries["kk"]["header.hearing"] != dictionaries["ru"]["header.hearing"]


def test_the_scan_finds_references(dictionaries):
    found = referenced_keys(set(dictionaries["kk"]))
    all_found = set().union(*found.values())
    # Guard against a scan that silently matches nothing.
    assert len(found["index.html"]) >= 10, found["index.html"]
    assert len(all_found - found["index.html"]) >= 10, sorted(all_found)
    assert "state.joined" in all_found
    assert "control.leave" in found["index.html"]


def test_every_referenced_key_exists(dictionaries):
    found = referenced_keys(set(dictionaries["kk"]))
    for source, keys in found.items():
        for lang, strings in dictionaries.items():
            missing = sorted(keys - set(strings))
            assert not missing, f"{source} references keys missing from {lang}.json: {missing}"


def test_every_signaling_error_code_is_translated(dictionaries):
    codes = signaling_error_codes()
    # Both tables (connect_error and acks/error events) must have been parsed.
    assert {"auth_required", "token_revoked", "hearing_not_found"} <= codes
    assert {"invalid_payload", "stale_answer", "internal_error"} <= codes
    for lang, strings in dictionaries.items():
        missing = sorted(c for c in codes if f"error.{c}" not in strings)
        assert not missing, f"{lang}.json lacks error messages for {missing}"


def test_client_error_codes_are_translated(dictionaries):
    for lang, strings in dictionaries.items():
        missing = sorted(c for c in CLIENT_ERROR_CODES if f"error.{c}" not in strings)
        assert not missing, f"{lang}.json lacks error messages for {missing}"


def test_client_error_codes_are_the_ones_the_client_raises():
    # CLIENT_ERROR_CODES above must not drift from the modules.
    text = "\n".join(js_sources().values())
    for code in CLIENT_ERROR_CODES - {"unknown"}:
        assert f'"{code}"' in text, f"client error code {code} is no longer used"


def test_every_role_is_translated(dictionaries):
    tokens_doc = (ROOT / "docs" / "tokens.md").read_text(encoding="utf-8")
    role_row = next(line for line in tokens_doc.splitlines() if line.startswith("| `role`"))
    documented = set(re.findall(r"`([a-z_]+)`", role_row)) - {"role"}
    assert documented, "no roles found in docs/tokens.md"
    for lang, strings in dictionaries.items():
        missing = sorted(r for r in documented | ROLES if f"role.{r}" not in strings)
        assert not missing, f"{lang}.json lacks role names for {missing}"


VOID_ELEMENTS = frozenset({"meta", "link", "br", "img", "input", "source", "path", "hr"})


class _TextCollector(HTMLParser):
    """Text in index.html that is not inside an element carrying data-i18n."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.stray: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names:
            self.inline.append("inline <script>")
        if tag == "style":
            self.inline.append("<style> element")
        if "style" in names:
            self.inline.append(f"style attribute on <{tag}>")
        if any(n.startswith("on") for n in names):
            self.inline.append(f"inline event handler on <{tag}>")
        if tag in VOID_ELEMENTS:
            return
        self.stack.append("data-i18n" in names or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag):
        if tag not in VOID_ELEMENTS and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if data.strip() and not (self.stack and self.stack[-1]):
            self.stray.append(data.strip())


def test_index_html_has_no_hardcoded_text_or_inline_code():
    collector = _TextCollector()
    collector.feed(html_source())
    assert not collector.stray, f"untranslated text in index.html: {collector.stray}"
    # The server's CSP forbids inline scripts and styles.
    assert not collector.inline, collector.inline


def test_key_missing_in_one_language_is_detected(dictionaries):
    # The checks above must fail when a key is missing: simulate it.
    broken = dict(dictionaries["ru"])
    broken.pop("control.leave")
    keys = referenced_keys(set(dictionaries["kk"]))["index.html"]
    assert keys - set(broken) == {"control.leave"}
