"""Use cases (generate, transcribe, config): no printing; the CLI renders what they return."""
