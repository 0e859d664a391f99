"""The ASGI entry point: ``hypercorn wrapper.asgi:app``."""

from __future__ import annotations

from wrapper.app import App

app = App()
