"""carecheck's built-in report formats, each a plugin registered through ``carecheck_register_reporters``."""
