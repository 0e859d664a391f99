"""Where the examples find the server: CLAUDE_WRAPPER_URL and API_KEY from the environment."""

from __future__ import annotations

import os

BASE_URL = os.environ.get("CLAUDE_WRAPPER_URL", "http://127.0.0.1:8000").rstrip("/")
# The server's API_KEY, if it has one; any value works for a server without one.
API_KEY = os.environ.get("API_KEY") or "no-key"
# Leave unset to use the server's default model (DEFAULT_MODEL).
MODEL = os.environ.get("CLAUDE_MODEL") or None
