"""Synthetic media for tests: solid colours and pure tones, and how to recognise them."""

from __future__ import annotations

import fractions

import numpy as np
from aiortc.mediastreams import AUDIO_PTIME, AudioStreamTrack, VideoStreamTrack
from av import AudioFrame, VideoFrame

SAMPLE_RATE = 48000


class SolidColorTrack(VideoStreamTrack):
    """A camera that films a wall of one colour."""

    def __init__(self, rgb: tuple[int, int, int], width: int = 160, height: int = 120) -> None:
        super().__init__()
        image = np.empty((height, width, 3), np.uint8)
        image[:] = rgb
        self._image = image

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame.from_ndarray(self._image, format="rgb24")
        frame.pts = pts
        frame.time_base = time_base
        return frame


class ToneTrack(AudioStreamTrack):
    """A microphone hearing a pure sine tone."""

    def __init__(self, frequency: float, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self._sample = 0

    async def recv(self) -> AudioFrame:
        await super().recv()  # keeps aiortc's real-time pacing (its frames count 8 kHz)
        samples = int(AUDIO_PTIME * SAMPLE_RATE)
        start = self._sample
        t = (np.arange(samples) + start) / SAMPLE_RATE
        self._sample += samples
        wave = (self.amplitude * 32767 * np.sin(2 * np.pi * self.frequency * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(wave.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        # Our own sample count: RTP timestamps must advance 960 per 20 ms at 48 kHz.
        frame.pts = start
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


def mean_color(frame: VideoFrame) -> tuple[int, int, int]:
    """The average colour of the central part of a decoded frame."""
    image = frame.to_ndarray(format="rgb24")
    h, w = image.shape[:2]
    centre = image[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
    r, g, b = centre.reshape(-1, 3).mean(axis=0)
    return round(r), round(g), round(b)


def color_close(a: tuple[int, int, int], b: tuple[int, int, int], tolerance: int = 24) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def dominant_frequency(frames: list[AudioFrame]) -> float:
    """The strongest frequency over decoded audio frames (first channel)."""
    chunks = []
    rate = SAMPLE_RATE
    for frame in frames:
        data = frame.to_ndarray()
        rate = frame.sample_rate
        channels = len(frame.layout.channels)
        mono = data.reshape(-1)[::channels] if data.shape[0] == 1 else data[0]
        chunks.append(mono.astype(np.float64))
    signal = np.concatenate(chunks)
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    freqs = np.fft.rfftfreq(len(signal), 1 / rate)
    return float(freqs[int(np.argmax(spectrum[1:])) + 1])
