"""Accessibility checks the browser tests run in a page: focus order, names, contrast."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page

# The focused element: what it is, its accessible name (aria-label, aria-labelledby,
# <label>, text), and whether a focus indicator is drawn (outline or box shadow).
FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const byIds = (ids) => ids.split(/\\s+/).map((id) => document.getElementById(id))
        .filter(Boolean).map((n) => n.textContent).join(' ');
    let name = el.getAttribute('aria-label') || '';
    const labelledBy = el.getAttribute('aria-labelledby');
    if (!name && labelledBy) name = byIds(labelledBy);
    if (!name && el.labels && el.labels.length) {
        name = [...el.labels].map((l) => l.textContent).join(' ');
    }
    if (!name) name = el.textContent || el.value || '';
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
    return {
        id: el.id,
        tag: el.tagName.toLowerCase(),
        action: el.dataset.action || el.dataset.helpAct || '',
        name: name.replace(/\\s+/g, ' ').trim(),
        indicator: outline || (style.boxShadow && style.boxShadow !== 'none'),
    };
}"""

# Every visible element with its own text: the contrast of its colour against the
# background it is drawn on (semi-transparent layers composited up to the page).
CONTRAST = """() => {
    const parse = (c) => {
        const m = c.match(/rgba?\\(([^)]+)\\)/);
        if (!m) return [0, 0, 0, 0];
        const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
        return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const over = (top, bottom) => {
        const a = top[3];
        return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
    };
    const lum = (c) => {
        const [r, g, b] = c.slice(0, 3).map((v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const background = (el) => {
        const layers = [];
        for (let n = el; n; n = n.parentElement) {
            const bg = parse(getComputedStyle(n).backgroundColor);
            if (bg[3] > 0) layers.push(bg);
            if (bg[3] >= 1) break;
        }
        let color = [13, 22, 32, 1]; // the page's own background under everything
        for (const layer of layers.reverse()) color = over(layer, color);
        return color;
    };
    const results = [];
    for (const el of document.querySelectorAll('body *')) {
        const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
        const shown = el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
        if (!own || !shown) continue;
        if (el.closest('.tile, .local-tile, button:disabled, .visually-hidden')) continue;
        const style = getComputedStyle(el);
        const fg = over(parse(style.color), background(el));
        const bg = background(el);
        const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
        results.push({
            text: el.textContent.trim().slice(0, 40),
            selector: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                + (typeof el.className === 'string' ? ' ' + el.className : ''),
            ratio: Math.round(((l1 + 0.05) / (l2 + 0.05)) * 100) / 100,
            color: style.color,
        });
    }
    return results;
}"""


async def tab_through(page: Page, presses: int) -> list[dict[str, Any]]:
    """Press Tab ``presses`` times; what got focus each time (None: nothing)."""
    stops = []
    for _ in range(presses):
        await page.keyboard.press("Tab")
        stops.append(await page.evaluate(FOCUSED))
    return stops


async def contrast_failures(page: Page, minimum: float = 4.5) -> list[dict[str, Any]]:
    """Visible text below WCAG AA contrast (4.5:1) on this page now."""
    measured = await page.evaluate(CONTRAST)
    assert len(measured) >= 3, measured  # the scan found the page's text at all
    return [r for r in measured if r["ratio"] < minimum]
