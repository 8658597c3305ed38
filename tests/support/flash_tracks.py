"""A camera that flashes and a microphone that beeps at the same wall-clock instants.

Both tracks of a participant count from one ``origin`` (unix seconds): video
frame k is due at ``origin + k / FPS``, audio frame j at ``origin + j * 0.02``,
and every flash starts on a video frame's time, so the first white frame and
the first sample of the beep are the same instant. Each frame is handed out
at its due time (never early), with timestamps counted from the origin, so the
RTP clocks and the sender reports tell the truth.
"""

from __future__ import annotations

import asyncio
import math
import time
from fractions import Fraction

import numpy as np
from aiortc import MediaStreamTrack
from av import AudioFrame, VideoFrame

FPS = 30
SAMPLE_RATE = 48000
AUDIO_FRAME = 960  # 20 ms
FLASH = 0.2  # seconds white / beeping
WHITE = (255, 255, 255)


class Schedule:
    """When one participant flashes and beeps."""

    def __init__(self, origin: float, flashes: list[float]) -> None:
        self.origin = origin
        # On the video frame grid, so the picture turns white exactly then.
        self.flashes = [origin + round((f - origin) * FPS) / FPS for f in flashes]

    def on(self, times: np.ndarray) -> np.ndarray:
        lit = np.zeros(times.shape, bool)
        for f in self.flashes:
            lit |= (times >= f - 1e-9) & (times < f + FLASH - 1e-9)
        return lit


async def _until(due: float) -> None:
    delay = due - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


class FlashingCamera(MediaStreamTrack):
    kind = "video"

    def __init__(self, rgb: tuple[int, int, int], schedule: Schedule) -> None:
        super().__init__()
        self.schedule = schedule
        self._images = {lit: self._image(WHITE if lit else rgb) for lit in (False, True)}
        self._k: int | None = None
        self.first: float | None = None  # when the first frame was due

    @staticmethod
    def _image(rgb: tuple[int, int, int]) -> np.ndarray:
        image = np.empty((120, 160, 3), np.uint8)
        image[:] = rgb
        return image

    async def recv(self) -> VideoFrame:
        if self._k is None:
            self._k = math.ceil((time.time() - self.schedule.origin) * FPS)
        due = self.schedule.origin + self._k / FPS
        await _until(due)
        self.first = self.first or due
        lit = bool(self.schedule.on(np.array([due]))[0])
        frame = VideoFrame.from_ndarray(self._images[lit], format="rgb24")
        frame.pts = self._k * (90000 // FPS)
        frame.time_base = Fraction(1, 90000)
        self._k += 1
        return frame


class BeepingMicrophone(MediaStreamTrack):
    kind = "audio"

    def __init__(self, tone: float, schedule: Schedule) -> None:
        super().__init__()
        self.tone = tone
        self.schedule = schedule
        self._j: int | None = None
        self.first: float | None = None

    async def recv(self) -> AudioFrame:
        step = AUDIO_FRAME / SAMPLE_RATE
        if self._j is None:
            self._j = math.ceil((time.time() - self.schedule.origin) / step)
        due = self.schedule.origin + self._j * step
        await _until(due)
        self.first = self.first or due
        times = due + np.arange(AUDIO_FRAME) / SAMPLE_RATE
        wave = np.where(
            self.schedule.on(times),
            0.5 * np.sin(2 * np.pi * self.tone * (times - self.schedule.origin)),
            0,
        )
        samples = (wave * 32767).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._j * AUDIO_FRAME
        frame.time_base = Fraction(1, SAMPLE_RATE)
        self._j += 1
        return frame
