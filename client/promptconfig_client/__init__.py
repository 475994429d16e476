"""PromptConfig's Python client. Django-free: the server imports its rendering engine."""

__version__ = "0.1.0"
