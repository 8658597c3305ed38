"""The mixed picture: a grid of participants' tiles and a strip with the date and time.

Each tile keeps its participant's picture whole (scaled, letterboxed), with
name and role over its lower left corner; the person speaking gets a coloured
outline; a participant with no picture (not joined yet, gone, in a gap) gets
a placeholder with name and role.

The picture is kept in the encoder's own format (YUV 4:2:0, every rectangle
on even pixels) so nothing is converted to RGB and back for each frame, and
only what changed is drawn again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from recorder.labels import TextArt

WIDTH, HEIGHT = 1280, 720
BAR = 40  # the strip under the grid with the date and time
OUTLINE = 4  # the speaking outline, drawn in each tile's margin
BACKGROUND = (14, 16, 18)
SPEAKING = (255, 193, 7)


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int


def _even(value: float) -> int:
    return int(value) // 2 * 2


def grid(count: int, width: int, height: int) -> list[Rect]:
    """``count`` equal cells filling width x height, the last row centred."""
    cols = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / cols))
    cw, ch = _even(width / cols), _even(height / rows)
    cells = []
    for i in range(count):
        row, col = divmod(i, cols)
        in_row = min(cols, count - row * cols)
        x0 = _even((width - in_row * cw) / 2)
        cells.append(Rect(x0 + col * cw, row * ch, cw, ch))
    return cells


def letterbox(src_w: int, src_h: int, area: Rect) -> Rect:
    """The largest rectangle of the source's aspect centred in ``area``."""
    scale = min(area.w / src_w, area.h / src_h)
    w = max(2, min(area.w, _even(src_w * scale + 1)))
    h = max(2, min(area.h, _even(src_h * scale + 1)))
    return Rect(area.x + _even((area.w - w) / 2), area.y + _even((area.h - h) / 2), w, h)


class Yuv:
    """A picture as its three 4:2:0 planes (even width and height)."""

    def __init__(self, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        self.y, self.u, self.v = y, u, v

    @classmethod
    def of_packed(cls, packed: np.ndarray, width: int, height: int) -> Yuv:
        """Views into PyAV's packed yuv420p array: Y rows, then U, then V."""
        flat = packed.reshape(-1)
        luma, chroma = width * height, width * height // 4
        y = flat[:luma].reshape(height, width)
        u = flat[luma : luma + chroma].reshape(height // 2, width // 2)
        v = flat[luma + chroma : luma + 2 * chroma].reshape(height // 2, width // 2)
        return cls(y, u, v)

    @classmethod
    def from_frame(cls, frame: av.VideoFrame) -> Yuv:
        return cls.of_packed(frame.to_ndarray(), frame.width, frame.height)

    @classmethod
    def from_rgb(cls, rgb: np.ndarray) -> Yuv:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:, :, :3]), format="rgb24")
        return cls.from_frame(frame.reformat(format="yuv420p"))

    @classmethod
    def colour(cls, rgb: tuple[int, int, int]) -> tuple[int, int, int]:
        """One colour's (Y, U, V)."""
        sample = cls.from_rgb(np.full((2, 2, 3), rgb, np.uint8))
        return int(sample.y[0, 0]), int(sample.u[0, 0]), int(sample.v[0, 0])


class Overlay:
    """An RGBA image ready to lay over the YUV picture (alpha per plane)."""

    def __init__(self, rgba: np.ndarray) -> None:
        h, w = _even(rgba.shape[0]), _even(rgba.shape[1])
        rgba = rgba[:h, :w]
        self.h, self.w = h, w
        self.pixels = Yuv.from_rgb(rgba)
        alpha = rgba[:, :, 3].astype(np.uint16)
        self.alpha = alpha
        self.alpha_half = (
            alpha.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)).round().astype(np.uint16)
        )

    def draw(self, canvas: Yuv, x: int, y: int) -> None:
        """Blend onto ``canvas`` with the top left corner at even (x, y)."""
        for plane, over, alpha, (px, py) in (
            (canvas.y, self.pixels.y, self.alpha, (x, y)),
            (canvas.u, self.pixels.u, self.alpha_half, (x // 2, y // 2)),
            (canvas.v, self.pixels.v, self.alpha_half, (x // 2, y // 2)),
        ):
            h, w = over.shape
            region = plane[py : py + h, px : px + w]
            mixed = (over * alpha + region * (255 - alpha) + 127) // 255
            region[:] = mixed


@dataclass(frozen=True)
class Person:
    name: str
    role: str  # already in the hearing's language


class Compositor:
    """Keeps the output picture (``frame()``) and redraws what changed."""

    def __init__(self, people: list[Person], art: TextArt) -> None:
        self._packed = np.empty((HEIGHT * 3 // 2, WIDTH), np.uint8)
        self.canvas = Yuv.of_packed(self._packed, WIDTH, HEIGHT)
        self._background = Yuv.colour(BACKGROUND)
        self._black = Yuv.colour((0, 0, 0))
        self._speaking = Yuv.colour(SPEAKING)
        self._fill(Rect(0, 0, WIDTH, HEIGHT), self._background)
        self._art = art
        self._cells = grid(len(people), WIDTH, HEIGHT - BAR)
        self._inner = [
            Rect(c.x + OUTLINE, c.y + OUTLINE, c.w - 2 * OUTLINE, c.h - 2 * OUTLINE)
            for c in self._cells
        ]
        size = max(12, min(22, min((r.h for r in self._inner), default=0) // 16))
        self._labels = [
            Overlay(art.label(p.name, p.role, max_width=r.w * 9 // 10, size=size))
            for p, r in zip(people, self._inner, strict=True)
        ]
        self._placeholders = [
            Yuv.from_rgb(art.placeholder(p.name, p.role, r.w, r.h))
            for p, r in zip(people, self._inner, strict=True)
        ]
        # What each tile shows now: (frame serial or -1, speaking, picture box).
        self._drawn: list[tuple[int, bool, Rect | None] | None] = [None] * len(people)
        # One scaler per tile: a frame's own reformat() would set up a new one
        # (filter tables and all) for every frame, ten times the cost of scaling.
        self._scalers = [VideoReformatter() for _ in people]
        self._clock = ""

    def frame(self) -> av.VideoFrame:
        """The picture as it is now, for the encoder."""
        return av.VideoFrame.from_ndarray(self._packed, format="yuv420p")

    def tile(self, index: int, frame: av.VideoFrame | None, serial: int, speaking: bool) -> None:
        """Show ``frame`` (None: the placeholder) in tile ``index``; ``serial`` names the frame."""
        inner = self._inner[index]
        box = letterbox(frame.width, frame.height, inner) if frame is not None else None
        state = (serial if frame is not None else -1, speaking, box)
        before = self._drawn[index]
        if before == state:
            return
        self._drawn[index] = state
        if before is None or before[1] != speaking:
            self._outline(index, speaking)
        if frame is None or box is None:
            self._paste(self._placeholders[index], inner.x, inner.y)
            return
        if before is None or before[2] != box:
            self._fill(inner, self._black)  # bars around the picture
        scaled = self._scalers[index].reformat(frame, width=box.w, height=box.h, format="yuv420p")
        self._paste(Yuv.from_frame(scaled), box.x, box.y)
        label = self._labels[index]
        margin = _even(max(4, inner.h // 40))
        label.draw(self.canvas, inner.x + margin, inner.y + inner.h - label.h - margin)

    def clock(self, text: str) -> None:
        """Write the date and time into the strip under the grid."""
        if text == self._clock:
            return
        self._clock = text
        self._paste(Yuv.from_rgb(self._art.bar(text, WIDTH, BAR, BACKGROUND)), 0, HEIGHT - BAR)

    def _outline(self, index: int, speaking: bool) -> None:
        cell, inner = self._cells[index], self._inner[index]
        colour = self._speaking if speaking else self._background
        for edge in (
            Rect(cell.x, cell.y, cell.w, OUTLINE),
            Rect(cell.x, inner.y + inner.h, cell.w, OUTLINE),
            Rect(cell.x, inner.y, OUTLINE, inner.h),
            Rect(inner.x + inner.w, inner.y, OUTLINE, inner.h),
        ):
            self._fill(edge, colour)

    def _fill(self, r: Rect, yuv: tuple[int, int, int]) -> None:
        self.canvas.y[r.y : r.y + r.h, r.x : r.x + r.w] = yuv[0]
        self.canvas.u[r.y // 2 : (r.y + r.h) // 2, r.x // 2 : (r.x + r.w) // 2] = yuv[1]
        self.canvas.v[r.y // 2 : (r.y + r.h) // 2, r.x // 2 : (r.x + r.w) // 2] = yuv[2]

    def _paste(self, picture: Yuv, x: int, y: int) -> None:
        h, w = picture.y.shape
        self.canvas.y[y : y + h, x : x + w] = picture.y
        self.canvas.u[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = picture.u
        self.canvas.v[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = picture.v
