"""Just enough of the VP8 and H.264 RTP payload formats to find keyframe starts.

A subscriber that starts on a delta frame shows garbage or nothing until the
next keyframe, so each new forwarded stream begins at a keyframe's first packet.
"""

from __future__ import annotations

H264_NAL_IDR = 5
H264_NAL_SPS = 7
H264_STAP_A = 24
H264_FU_A = 28


def vp8_keyframe_start(payload: bytes) -> bool:
    """True for the first packet of a VP8 keyframe (RFC 7741 payload descriptor)."""
    if not payload:
        return False
    first = payload[0]
    start_of_partition = first & 0x10
    partition_id = first & 0x07
    if not start_of_partition or partition_id != 0:
        return False
    pos = 1
    if first & 0x80:  # X: extension byte follows
        if len(payload) < 2:
            return False
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if len(payload) <= pos:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/KEYIDX byte
            pos += 1
    if len(payload) <= pos:
        return False
    # VP8 payload header: P bit (inverse keyframe flag) is bit 0.
    return (payload[pos] & 0x01) == 0


def _h264_is_key_nal(nal_type: int) -> bool:
    return nal_type in (H264_NAL_IDR, H264_NAL_SPS)


def h264_keyframe_start(payload: bytes) -> bool:
    """True for a packet that starts an IDR picture or carries its SPS (RFC 6184)."""
    if not payload:
        return False
    nal_type = payload[0] & 0x1F
    if 1 <= nal_type <= 23:
        return _h264_is_key_nal(nal_type)
    if nal_type == H264_STAP_A:
        pos = 1
        while pos + 2 < len(payload):
            size = int.from_bytes(payload[pos : pos + 2], "big")
            pos += 2
            if size == 0 or pos >= len(payload):
                return False
            if _h264_is_key_nal(payload[pos] & 0x1F):
                return True
            pos += size
        return False
    if nal_type == H264_FU_A:
        return len(payload) > 1 and bool(payload[1] & 0x80) and _h264_is_key_nal(payload[1] & 0x1F)
    return False


def keyframe_start(mime_type: str, payload: bytes) -> bool:
    """Whether ``payload`` begins a keyframe for the codec ``mime_type`` (video only)."""
    mime = mime_type.lower()
    if mime == "video/vp8":
        return vp8_keyframe_start(payload)
    if mime == "video/h264":
        return h264_keyframe_start(payload)
    return True  # audio and unknown codecs have no keyframes to wait for
