"""The mixed sound: every track's samples added in at the positions their timestamps give.

A track's frames normally follow each other without a seam; a frame whose
timestamp is more than ``REANCHOR`` away from where the previous one ended
(a gap, lost packets, a clock correction) starts where its timestamp says, and
the hole stays silent. So the sound never drifts from its timestamps by more
than ``REANCHOR``, however long the recording.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 48000
CHANNELS = 2
REANCHOR = round(0.010 * SAMPLE_RATE)


class AudioMix:
    """A sliding buffer of the mix, from the first sample not yet taken."""

    def __init__(self) -> None:
        self._start = 0  # sample index of the buffer's first sample
        self._buffer = np.zeros((CHANNELS, SAMPLE_RATE), np.float32)
        self._next: dict[str, int] = {}

    def add(self, track: str, time: float, samples: np.ndarray) -> None:
        """Add ``samples`` (2 x n, float) of ``track`` whose first is at ``time`` seconds."""
        target = round(time * SAMPLE_RATE)
        expected = self._next.get(track)
        position = target
        if expected is not None and abs(target - expected) <= REANCHOR:
            position = expected
        elif expected is not None and target < expected:
            # Overlaps what this track already gave (a clock step back): keep the first.
            samples = samples[:, expected - target :]
            position = expected
        self._next[track] = position + samples.shape[1]
        if position < self._start:  # before what was already written out
            samples = samples[:, self._start - position :]
            position = self._start
        if samples.shape[1] == 0:
            return
        end = position - self._start + samples.shape[1]
        if end > self._buffer.shape[1]:
            grown = np.zeros((CHANNELS, max(end, 2 * self._buffer.shape[1])), np.float32)
            grown[:, : self._buffer.shape[1]] = self._buffer
            self._buffer = grown
        self._buffer[:, position - self._start : end] += samples

    def take(self, until: int) -> np.ndarray:
        """The mix from the last taken sample up to sample ``until`` (silence where none)."""
        count = until - self._start
        if count <= 0:
            return np.zeros((CHANNELS, 0), np.float32)
        out = np.zeros((CHANNELS, count), np.float32)
        have = min(count, self._buffer.shape[1])
        out[:, :have] = self._buffer[:, :have]
        remaining = self._buffer.shape[1] - have
        self._buffer[:, :remaining] = self._buffer[:, have:]  # numpy copies overlaps safely
        self._buffer[:, remaining:] = 0
        self._start = until
        np.clip(out, -1.0, 1.0, out=out)
        return out
