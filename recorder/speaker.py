"""Who is speaking: each participant's sound level over a short window.

The loudest participant above a threshold is the speaker; a speaker keeps the
outline for a moment after someone else gets louder so it does not flicker
between two people talking over each other.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

WINDOW = 0.3  # seconds of sound a level is taken over
THRESHOLD_DBFS = -42.0  # quieter than this is room noise, not speech
HOLD = 0.6  # seconds a speaker keeps the outline against a louder one
SAMPLE_RATE = 48000


class SpeakerDetector:
    def __init__(self) -> None:
        self._energy: dict[str, deque[tuple[float, float]]] = {}
        self._speaker: str | None = None
        self._since = -math.inf

    def hear(self, who: str, time: float, samples: np.ndarray) -> None:
        """Sound of ``who`` starting at ``time`` (mixed-file seconds)."""
        energy = float(np.square(samples, dtype=np.float32).sum()) / max(1, samples.shape[0])
        self._energy.setdefault(who, deque()).append((time, energy))

    def level(self, who: str, now: float) -> float:
        """dBFS of ``who`` over the window ending ``now`` (silence where nothing came)."""
        frames = self._energy.get(who)
        if not frames:
            return -math.inf
        while frames and frames[0][0] < now - WINDOW:
            frames.popleft()
        total = sum(e for t, e in frames if t <= now)
        mean = total / (WINDOW * SAMPLE_RATE)
        return 10 * math.log10(mean) if mean > 0 else -math.inf

    def speaker(self, now: float) -> str | None:
        """The participant to outline at ``now``."""
        levels = {who: self.level(who, now) for who in self._energy}
        loud = {who: lvl for who, lvl in levels.items() if lvl >= THRESHOLD_DBFS}
        best = max(loud, key=loud.__getitem__, default=None)
        current = self._speaker
        if current in loud and best != current and now - self._since < HOLD:
            return current
        if best != current:
            self._speaker, self._since = best, now
        return best
