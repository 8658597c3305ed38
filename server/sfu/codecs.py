"""Which codecs the SFU forwards, and how a publisher's codec is offered to subscribers.

Forwarding never transcodes, so a subscriber receives exactly the codec its
publisher sends: Opus; VP8; H.264 constrained baseline with packetization
mode 1 (what iOS Safari decodes).
"""

from __future__ import annotations

from aiortc import RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters

H264_PROFILES = ("42e01f", "42001f")


def forwardable(codec: RTCRtpCodecParameters) -> bool:
    mime = codec.mimeType.lower()
    if mime in ("audio/opus", "video/vp8"):
        return True
    if mime == "video/h264":
        return (
            str(codec.parameters.get("packetization-mode")) == "1"
            and str(codec.parameters.get("profile-level-id", "")).lower() in H264_PROFILES
        )
    return False


def is_rtx(codec: RTCRtpCodecParameters | RTCRtpCodecCapability) -> bool:
    return codec.mimeType.lower().endswith("/rtx")


def choose_publish_codecs(
    offered: list[RTCRtpCodecParameters],
) -> list[RTCRtpCodecParameters]:
    """The one media codec (the client's first forwardable one) plus its RTX, or []."""
    for codec in offered:
        if not is_rtx(codec) and forwardable(codec):
            chosen = [codec]
            chosen += [
                c for c in offered if is_rtx(c) and c.parameters.get("apt") == codec.payloadType
            ]
            return chosen
    return []


def subscriber_preferences(codec: RTCRtpCodecParameters) -> list[RTCRtpCodecCapability]:
    """Codec preferences for a subscriber transceiver carrying ``codec``."""
    kind = "video" if codec.mimeType.lower().startswith("video/") else "audio"
    capabilities = RTCRtpSender.getCapabilities(kind).codecs
    wanted_profile = str(codec.parameters.get("profile-level-id", "")).lower()
    preferences = []
    for cap in capabilities:
        if cap.mimeType.lower() != codec.mimeType.lower():
            continue
        if (
            cap.mimeType.lower() == "video/h264"
            and str(cap.parameters.get("profile-level-id", "")).lower() != wanted_profile
        ):
            continue
        preferences.append(cap)
        break
    if kind == "video":
        preferences += [cap for cap in capabilities if is_rtx(cap)]
    return preferences
