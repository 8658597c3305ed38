"""Text burned into the mixed picture: names, procedural roles, the date and time.

PyAV's FFmpeg has no ``drawtext``, so text is drawn with Pillow once into
small images (cached by the caller) and laid over the picture with numpy.
Role names follow the web client's (web_client/i18n/*.json, ``role.*``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

LANGUAGES = ("kk", "ru", "en")

ROLE_NAMES: dict[str, dict[str, str]] = {
    "kk": {
        "judge": "Судья",
        "secretary": "Сот хатшысы",
        "prosecutor": "Прокурор",
        "lawyer": "Адвокат",
        "defendant": "Сотталушы",
        "detainee": "Қамаудағы адам",
        "witness": "Куә",
        "expert": "Сарапшы",
        "interpreter": "Аудармашы",
        "observer": "Бақылаушы",
        "investigator": "Тергеуші",
        "victim": "Жәбірленуші",
        "plaintiff": "Талапкер",
        "respondent": "Жауапкер",
        "representative": "Өкіл",
        "facility_officer": "Мекеме қызметкері",
    },
    "ru": {
        "judge": "Судья",
        "secretary": "Секретарь судебного заседания",
        "prosecutor": "Прокурор",
        "lawyer": "Адвокат",
        "defendant": "Подсудимый",
        "detainee": "Лицо, содержащееся под стражей",
        "witness": "Свидетель",
        "expert": "Эксперт",
        "interpreter": "Переводчик",
        "observer": "Наблюдатель",
        "investigator": "Следователь",
        "victim": "Потерпевший",
        "plaintiff": "Истец",
        "respondent": "Ответчик",
        "representative": "Представитель",
        "facility_officer": "Сотрудник учреждения",
    },
    "en": {
        "judge": "Judge",
        "secretary": "Court secretary",
        "prosecutor": "Prosecutor",
        "lawyer": "Defence lawyer",
        "defendant": "Defendant",
        "detainee": "Detainee",
        "witness": "Witness",
        "expert": "Expert",
        "interpreter": "Interpreter",
        "observer": "Observer",
        "investigator": "Investigator",
        "victim": "Victim",
        "plaintiff": "Plaintiff",
        "respondent": "Respondent",
        "representative": "Representative",
        "facility_officer": "Facility officer",
    },
}

# Fonts with Kazakh and Russian Cyrillic (ә ғ қ ң ө ұ ү һ і), regular then bold,
# from Debian's fonts-dejavu-core or fonts-noto-core.
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/noto"),
    Path("/usr/share/fonts/TTF"),
)
FONTS = (("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"), ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"))

TEXT = (255, 255, 255)
SHADE = (0, 0, 0, 150)  # under a label: readable on any picture
PLACEHOLDER = (38, 42, 48)
MUTED_TEXT = (200, 204, 210)


class FontNotFound(RuntimeError):
    """No font with Cyrillic glyphs is installed."""


def role_name(role: str, language: str) -> str:
    """The role as the hearing's language names it (the raw role if unknown)."""
    return ROLE_NAMES.get(language, ROLE_NAMES["kk"]).get(role, role.replace("_", " "))


def find_fonts() -> tuple[Path, Path]:
    """Regular and bold font files, or FontNotFound saying what to install."""
    for regular, bold in FONTS:
        for folder in FONT_DIRS:
            if (folder / regular).is_file():
                heavy = folder / bold
                return folder / regular, heavy if heavy.is_file() else folder / regular
    raise FontNotFound(
        "no font with Cyrillic glyphs found for the recording's labels: install "
        "fonts-dejavu-core (or fonts-noto-core): apt-get install fonts-dejavu-core"
    )


class TextArt:
    """Draws the mixer's texts as arrays: RGBA overlays and opaque RGB tiles."""

    def __init__(self) -> None:
        self.regular, self.bold = find_fonts()

    @lru_cache(maxsize=64)  # noqa: B019 - one TextArt per mix, a handful of sizes
    def _font(self, bold: bool, size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(str(self.bold if bold else self.regular), size)

    def label(self, name: str, role: str, max_width: int, size: int) -> np.ndarray:
        """Name (bold) over role on a translucent dark box: RGBA."""
        name_font, role_font = self._font(True, size), self._font(False, max(10, size * 4 // 5))
        pad = max(4, size // 3)
        name = _fit(name, name_font, max_width - 2 * pad)
        role = _fit(role, role_font, max_width - 2 * pad)
        lines = [(name, name_font), (role, role_font)] if role else [(name, name_font)]
        width = max(_width(text, font) for text, font in lines) + 2 * pad
        heights = [_height(font) for _, font in lines]
        image = Image.new("RGBA", (width, sum(heights) + 2 * pad), SHADE)
        draw = ImageDraw.Draw(image)
        y = pad
        for (text, font), height in zip(lines, heights, strict=True):
            draw.text((pad, y), text, font=font, fill=(*TEXT, 255))
            y += height
        return np.asarray(image)

    def placeholder(self, name: str, role: str, width: int, height: int) -> np.ndarray:
        """A dark tile with the name and role in the middle: RGB."""
        image = Image.new("RGB", (width, height), PLACEHOLDER)
        draw = ImageDraw.Draw(image)
        size = max(14, min(40, height // 9, width // 14))
        name_font, role_font = self._font(True, size), self._font(False, max(12, size * 3 // 4))
        name = _fit(name, name_font, width - 16)
        role = _fit(role, role_font, width - 16)
        gap = size // 2
        total = _height(name_font) + (gap + _height(role_font) if role else 0)
        y = (height - total) // 2
        draw.text(((width - _width(name, name_font)) // 2, y), name, font=name_font, fill=TEXT)
        if role:
            y += _height(name_font) + gap
            draw.text(
                ((width - _width(role, role_font)) // 2, y), role, font=role_font, fill=MUTED_TEXT
            )
        return np.asarray(image)

    def bar(
        self, text: str, width: int, height: int, background: tuple[int, int, int]
    ) -> np.ndarray:
        """A strip with one line of text at its left: RGB."""
        image = Image.new("RGB", (width, height), background)
        font = self._font(False, max(12, height * 11 // 20))
        y = (height - _height(font)) // 2
        ImageDraw.Draw(image).text((height // 3, y), text, font=font, fill=TEXT)
        return np.asarray(image)


def _width(text: str, font: ImageFont.FreeTypeFont) -> int:
    return int(np.ceil(font.getlength(text)))


def _height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent


def _fit(text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """The text, shortened with an ellipsis until it fits ``width`` pixels."""
    if _width(text, font) <= width:
        return text
    while text and _width(text + "…", font) > width:
        text = text[:-1]
    return text.rstrip() + "…"
