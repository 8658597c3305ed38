"""The payload of every client event, as a strict model.

Unknown fields are refused (``extra="forbid"``) so a typo or an injection
attempt is an error, not silently ignored. Sizes are bounded per field on top
of the per-event byte limit.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_SDP_CHARS = 60_000
MAX_CANDIDATE_CHARS = 1_024
MAX_COURT_MESSAGE_CHARS = 1_000


class EventModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class JoinRequest(EventModel):
    pass


class LeaveRequest(EventModel):
    pass


class IceConfigRequest(EventModel):
    """The ICE servers (TURN credentials) before joining: the self-test's check needs them."""


class PublishOffer(EventModel):
    type: Literal["offer"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)


class SubscribeAnswer(EventModel):
    type: Literal["answer"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)
    revision: int = Field(ge=1)


class IceCandidate(EventModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    target: Literal["publish", "subscribe"]
    candidate: str | None = Field(default=None, max_length=MAX_CANDIDATE_CHARS)
    sdp_mid: str | None = Field(default=None, alias="sdpMid", max_length=32)
    sdp_mline_index: int | None = Field(default=None, alias="sdpMLineIndex", ge=0, le=1000)
    username_fragment: str | None = Field(default=None, alias="usernameFragment", max_length=256)


class SetMute(EventModel):
    kind: Literal["audio", "video"]
    muted: bool


ParticipantId = Field(min_length=1, max_length=128)


class SetState(EventModel):
    act: Literal["open", "start", "recess", "resume", "close"]


class TargetParticipant(EventModel):
    """An act of the court on one participant (admit, dismiss, call in, remove)."""

    participant_id: str = ParticipantId


class AdmitAll(EventModel):
    pass


class MuteParticipant(EventModel):
    participant_id: str = ParticipantId
    kind: Literal["audio", "video"]
    locked: bool = True


class ReleaseMute(EventModel):
    participant_id: str = ParticipantId
    kind: Literal["audio", "video"]


class RaiseHand(EventModel):
    raised: bool


class StartConsultation(EventModel):
    participant_id: str = ParticipantId


class EndConsultation(EventModel):
    pass


class RecallConsultation(EventModel):
    consultation_id: str = Field(min_length=1, max_length=64)


class CourtMessage(EventModel):
    """A line in the judge's and secretary's own channel."""

    text: str = Field(min_length=1, max_length=MAX_COURT_MESSAGE_CHARS)

    @field_validator("text")
    @classmethod
    def _readable(cls, text: str) -> str:
        # Control characters (other than line breaks and tabs) only hide or garble text.
        if any((ord(c) < 32 and c not in "\n\t") or ord(c) == 127 for c in text):
            raise ValueError("the text may not contain control characters")
        text = text.strip()
        if not text:
            raise ValueError("the text is empty")
        return text


class HelpRequest(EventModel):
    pass


class HelpAnswer(EventModel):
    request_id: str = Field(min_length=1, max_length=64)
    state: Literal["handling", "handled"]


class SetReceive(EventModel):
    """What this participant wants to receive: ``video: false`` is sound only."""

    video: bool


class ProbeOffer(EventModel):
    """The self-test's network check: an offer of one data channel (server/sfu/probe.py)."""

    type: Literal["offer"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)


class SelfTestReport(EventModel):
    """What the client's self-test measured; ``None``: not measured / not tested."""

    rtt_ms: float | None = Field(default=None, ge=0, le=60_000)
    loss_percent: float | None = Field(default=None, ge=0, le=100)
    camera: bool | None = None
    microphone: bool | None = None
