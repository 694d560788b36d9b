"""The project's own build and lint tools (run as scripts: `python tools/<name>.py`)."""
