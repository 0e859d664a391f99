"""The ``claude-wrapper`` console script: serve the app with hypercorn.

Binds ``CLAUDE_WRAPPER_HOST:PORT`` (defaults 0.0.0.0:8000). Started from a
terminal without ``API_KEY``, it offers to generate a key for the run. Signals are handled
by hypercorn: SIGTERM/SIGINT stop accepting and let in-flight responses finish
within the graceful timeout.
"""

from __future__ import annotations

import argparse
import os
import sys

from hypercorn.config import Config
from hypercorn.run import run

from wrapper.cli.api_key_prompt import offer_api_key
from wrapper.config import ConfigError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="claude-wrapper", description=__doc__)
    parser.add_argument("--port", type=int, help="port (default: $PORT or 8000)")
    parser.add_argument("--host", help="bind address (default: $CLAUDE_WRAPPER_HOST or 0.0.0.0)")
    parser.add_argument(
        "--worker-class",
        default="asyncio",
        choices=["asyncio", "uvloop", "trio"],
        help="hypercorn worker class (default: asyncio)",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"claude-wrapper: {exc}", file=sys.stderr)
        return 2
    if settings.api_key is None and sys.stdin.isatty() and sys.stdout.isatty():
        key = offer_api_key(sys.stdin, sys.stdout, port=args.port or settings.port)
        if key is not None:
            # Read by the server process hypercorn starts (it inherits this environment);
            # the CLI processes never see it (API_KEY is masked in their environment).
            os.environ["API_KEY"] = key
    config = Config()
    config.application_path = "wrapper.asgi:app"
    config.bind = [f"{args.host or settings.host}:{args.port or settings.port}"]
    config.worker_class = args.worker_class
    config.accesslog = None
    config.graceful_timeout = settings.shutdown_grace_s
    return run(config)
