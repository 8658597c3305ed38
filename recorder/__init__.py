"""Recording and the per-case archive (docs/recording.md)."""
