"""Socket.IO signaling: typed events in and out, validated before any handler runs."""
