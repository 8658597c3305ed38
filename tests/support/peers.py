"""Participants made of real aiortc peers, and what they received."""

from __future__ import annotations

import asyncio
import contextlib

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from signaling.client import HearingClient, RemoteTrack
from support.media import SolidColorTrack, ToneTrack, color_close, dominant_frequency, mean_color


async def join_and_publish(
    url: str, token: str, rgb: tuple[int, int, int] | None = None, tone: float | None = None
) -> HearingClient:
    client = HearingClient(url, token)
    await client.connect()
    await client.join()
    tracks: list[MediaStreamTrack] = []
    if rgb is not None:
        tracks.append(SolidColorTrack(rgb))
    if tone is not None:
        tracks.append(ToneTrack(tone))
    if tracks:
        await client.publish(*tracks)
    return client


async def seen_color(
    remote: RemoteTrack, expected: tuple[int, int, int], timeout: float = 15
) -> tuple[int, int, int]:
    """Decode remote video until it shows ``expected`` or time runs out; return the last colour."""
    assert remote.track is not None
    last = (-1, -1, -1)

    async def decode() -> None:
        nonlocal last
        while not color_close(last, expected):
            frame = await remote.track.recv()  # type: ignore[union-attr]
            assert isinstance(frame, VideoFrame)
            last = mean_color(frame)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(decode(), timeout)
    return last


async def heard_frequency(remote: RemoteTrack, frames: int = 60, skip: int = 15) -> float:
    """Decode ``frames`` audio frames (after ``skip``) and return the dominant frequency."""
    assert remote.track is not None
    received: list[AudioFrame] = []
    for index in range(skip + frames):
        frame = await asyncio.wait_for(remote.track.recv(), 5)
        assert isinstance(frame, AudioFrame)
        if index >= skip:
            received.append(frame)
    return dominant_frequency(received)


async def track_ends(remote: RemoteTrack, timeout: float = 10) -> bool:
    """Read the remote track until it ends (True) or ``timeout`` passes (False).

    aiortc ends a remote track once its queue drains, so buffered frames are read first.
    """
    assert remote.track is not None

    async def drain() -> None:
        while True:
            await remote.track.recv()  # type: ignore[union-attr]

    try:
        await asyncio.wait_for(drain(), timeout)
    except MediaStreamError:
        return True
    except TimeoutError:
        return False
    return False
