"""Measuring a mixed recording: when each tile flashes, when each tone beeps.

Used on the mixer's output (tests/test_mixer.py and the end-to-end hearing):
a flash is a tile's picture turning white, a beep a participant's own
frequency rising out of silence; lip sync is the time between the two.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from recorder.composite import BAR, HEIGHT, OUTLINE, WIDTH, grid

WINDOW = 0.010  # seconds a tone's level is taken over (nulls every 100 Hz)
HOLD = 0.05  # a beep is on at least this long


def tile_centres(count: int) -> list[tuple[slice, slice]]:
    """The middle of each participant's tile in the mixed picture (rows, columns)."""
    out = []
    for cell in grid(count, WIDTH, HEIGHT - BAR):
        x, y = cell.x + OUTLINE, cell.y + OUTLINE
        w, h = cell.w - 2 * OUTLINE, cell.h - 2 * OUTLINE
        out.append((slice(y + h * 3 // 8, y + h * 5 // 8), slice(x + w * 3 // 8, x + w * 5 // 8)))
    return out


def tile_brightness(path: Path, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame times and the mean luma of each tile's middle (frames x tiles)."""
    regions = tile_centres(count)
    times, levels = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            luma = frame.to_ndarray(format="gray")
            times.append(float(frame.time))
            levels.append([float(luma[rows, cols].mean()) for rows, cols in regions])
    return np.array(times), np.array(levels)


def flashes(times: np.ndarray, levels: np.ndarray, threshold: float = 200.0) -> list[list[float]]:
    """Per tile, the times its middle turned white (the first white frame)."""
    out = []
    for tile in range(levels.shape[1]):
        white = levels[:, tile] >= threshold
        rises = np.flatnonzero(white[1:] & ~white[:-1]) + 1
        out.append([float(times[i]) for i in rises])
    return out


def mixed_audio(path: Path) -> tuple[np.ndarray, int]:
    """The mixed sound as one mono float array from time 0, and its rate."""
    chunks: list[np.ndarray] = []
    rate = 48000
    start: float | None = None
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            rate = frame.sample_rate
            if start is None:
                start = float(frame.time or 0.0)
            chunks.append(frame.to_ndarray().astype(np.float64).mean(axis=0))
    signal = np.concatenate(chunks) if chunks else np.zeros(0)
    lead = round((start or 0.0) * rate)  # audio that starts late: pad, so index = time
    if lead > 0:
        signal = np.concatenate([np.zeros(lead), signal])
    return signal, rate


def beeps(signal: np.ndarray, rate: int, tone: float, threshold: float = 0.1) -> list[float]:
    """Onsets of ``tone``: where its level (over a centred window) crosses half its peak.

    The level is the tone's amplitude (a Goertzel-like demodulation averaged
    over WINDOW); other participants' tones sit on its nulls.
    """
    n = np.arange(len(signal))
    demodulated = signal * np.exp(-2j * np.pi * tone * n / rate)
    width = round(WINDOW * rate)
    kernel = np.ones(width) / width
    level = 2 * np.abs(np.convolve(demodulated, kernel, mode="same"))
    if not len(level) or level.max() < threshold:
        return []
    on = level >= level.max() / 2
    rises = np.flatnonzero(on[1:] & ~on[:-1]) + 1
    hold = round(HOLD * rate)
    onsets: list[float] = []
    for i in rises:
        # A beep stays on; a click where another tone starts or stops does not.
        if on[i : i + hold].all() and (not onsets or i / rate - onsets[-1] > 2 * HOLD):
            onsets.append(i / rate)
    return onsets


def pair(flash_times: list[float], beep_times: list[float], within: float = 0.5) -> list[float]:
    """For each flash, beep minus flash for the nearest beep (flashes with none are left out)."""
    errors = []
    for f in flash_times:
        near = [b - f for b in beep_times if abs(b - f) <= within]
        if near:
            errors.append(min(near, key=abs))
    return errors
