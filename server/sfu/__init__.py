"""The media plane: an SFU on aiortc that forwards encoded RTP, never transcoding."""
