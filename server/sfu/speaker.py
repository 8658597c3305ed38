"""Who is speaking, from the audio levels publishers put in their RTP (RFC 6464).

Browsers send the ``ssrc-audio-level`` header extension with every Opus
packet, and aiortc clients do too when they encode audio themselves (a client
that forwards pre-encoded packets sends none: its track has no level and is
never taken for the speaker). Nothing is decoded: each published audio track
keeps a :class:`VoiceActivity` from the levels it forwards, and a hearing's
:class:`SpeakerDetector` picks the speaker from them with hysteresis, so the
caption does not flicker between two people talking over each other or in the
pauses between words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# RFC 6464 carries -dBov, 0 (loudest) to 127 (silence). Louder than -50 dBov is a voice;
# a quiet room sits around -70 and below.
VOICE_LEVEL = 50
# A voice stays "speaking" this long after its last loud packet: the pauses between
# words (and the gaps of a beep) are not silence.
HOLD_SECONDS = 1.5
# Another voice takes over only after being clearly louder for this long.
SWITCH_AFTER_SECONDS = 0.8
MARGIN_DB = 6.0
# Weight of a new loud packet in the running loudness (about 10 packets: 200 ms of Opus).
SMOOTHING = 0.1


@dataclass(slots=True)
class VoiceActivity:
    """The recent loudness of one audio track, fed per packet (cheap: a few float ops)."""

    loudness: float = 0.0  # dB above silence (127 - level), smoothed over loud packets
    voiced_at: float = float("-inf")  # monotonic time of the last loud packet

    def heard(self, level: int, now: float) -> None:
        if level > VOICE_LEVEL:
            return
        loudness = 127.0 - level
        if now - self.voiced_at > HOLD_SECONDS:
            self.loudness = loudness  # a new utterance starts from its own level
        else:
            self.loudness += SMOOTHING * (loudness - self.loudness)
        self.voiced_at = now

    def speaking(self, now: float) -> bool:
        return now - self.voiced_at <= HOLD_SECONDS


class SpeakerDetector:
    """The speaker of one hearing: the loudest voice, kept until another clearly takes over."""

    def __init__(self) -> None:
        self.speaker: str | None = None
        self._challenger: str | None = None
        self._challenger_since = 0.0

    def decide(self, voices: Mapping[str, VoiceActivity], now: float) -> str | None:
        """The speaker now, given each participant's voice (``None``: nobody speaks)."""
        speaking = {pid: v.loudness for pid, v in voices.items() if v.speaking(now)}
        if not speaking:
            self.speaker = self._challenger = None
            return None
        loudest = max(speaking, key=lambda pid: speaking[pid])
        if self.speaker not in speaking:
            self.speaker, self._challenger = loudest, None  # the floor was free: at once
            return self.speaker
        if loudest == self.speaker or speaking[loudest] < speaking[self.speaker] + MARGIN_DB:
            self._challenger = None
            return self.speaker
        if self._challenger != loudest:
            self._challenger, self._challenger_since = loudest, now
        elif now - self._challenger_since >= SWITCH_AFTER_SECONDS:
            self.speaker, self._challenger = loudest, None
        return self.speaker
