"""Settings split base / local / production / test, driven by environment variables."""
