"""aigw: a command-line AI gateway for image generation and audio transcription."""

__version__ = "0.1.0"
