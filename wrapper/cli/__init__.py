"""The ``claude-wrapper`` console script: serve the app with hypercorn.

Binds ``CLAUDE_WRAPPER_HOST:PORT`` (defaults 0.0.0.0:8000); with ``--certfile``
and ``--keyfile`` it serves HTTPS, HTTP/2 negotiated over ALPN. Started from a
terminal it prints a short banner (the URL, upstream auth, ``API_KEY``, where data
lives) and, without ``API_KEY``, offers to generate a key for the run. Signals are
handled by hypercorn: SIGTERM/SIGINT stop accepting and let in-flight responses
finish within the graceful timeout.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import msgspec
from hypercorn.config import Config
from hypercorn.run import run

from wrapper import __version__
from wrapper.cli.api_key_prompt import offer_api_key
from wrapper.cli.banner import Banner, public_url
from wrapper.config import ConfigError, Settings, load_settings
from wrapper.logging import is_terminal
from wrapper.upstream.auth import detect_upstream_auth

_DESCRIPTION = (
    "OpenAI- and Anthropic-compatible HTTP server for Claude, through Claude Code. "
    "Open the printed URL for the landing page, the playground and the API reference."
)
_EPILOG = """\
settings come from the environment (see docs/configuration.md and .env.example), e.g.:
  PORT, CLAUDE_WRAPPER_HOST   where to listen (the options above win)
  API_KEY                     the key clients must send (unset: the API is open)
  ANTHROPIC_API_KEY           how Claude Code authenticates upstream (or a CLI login,
                              Bedrock, Vertex: CLAUDE_AUTH_METHOD)
  DATA_DIR                    where sessions and stored responses live (default ./data)
  LOG_FORMAT                  auto (readable on a terminal), console or json

examples:
  claude-wrapper
  claude-wrapper --host 127.0.0.1 --port 9000 --worker-class trio
  claude-wrapper --certfile cert.pem --keyfile key.pem    # HTTPS, HTTP/2 over ALPN
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="claude-wrapper",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, help="port to listen on (default: $PORT or 8000)")
    parser.add_argument(
        "--host",
        help="address to bind (default: $CLAUDE_WRAPPER_HOST, else 0.0.0.0 with API_KEY "
        "and 127.0.0.1 without)",
    )
    parser.add_argument(
        "--worker-class",
        default="asyncio",
        choices=["asyncio", "uvloop", "trio"],
        help="hypercorn worker class (default: asyncio)",
    )
    parser.add_argument(
        "--certfile", type=Path, help="TLS certificate (PEM); serves HTTPS with HTTP/2 over ALPN"
    )
    parser.add_argument("--keyfile", type=Path, help="TLS private key (PEM) for --certfile")
    parser.add_argument("--version", action="version", version=f"claude-wrapper {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.certfile is None) != (args.keyfile is None):
        parser.error("--certfile and --keyfile go together")
    for option, path in (("--certfile", args.certfile), ("--keyfile", args.keyfile)):
        if path is not None and not path.is_file():
            parser.error(f"{option} {path}: no such file")
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"claude-wrapper: {exc}", file=sys.stderr)
        return 2
    port = args.port or settings.port
    key_generated = False
    if not settings.has_client_keys and sys.stdin.isatty() and sys.stdout.isatty():
        key = offer_api_key(sys.stdin, sys.stdout, port=port)
        if key is not None:
            # Read by the server process hypercorn starts (it inherits this environment);
            # the CLI processes never see it (API_KEY is masked in their environment).
            os.environ["API_KEY"] = key
            key_generated = True
            settings = load_settings()
    host = args.host or settings.bind_host
    if is_terminal(sys.stdout) and settings.log_format != "json":
        _print_banner(
            settings,
            host=host,
            port=port,
            tls=args.certfile is not None,
            key_generated=key_generated,
        )
    return run(_hypercorn_config(args, settings, host=host, port=port))


def _print_banner(
    settings: Settings, *, host: str, port: int, tls: bool, key_generated: bool
) -> None:
    shown = msgspec.structs.replace(settings, host=host, port=port)
    text = Banner(colors=True).render(
        shown,
        version=__version__,
        url=public_url(host, port, tls=tls),
        auth=detect_upstream_auth(settings.upstream.auth_method, settings.environ),
        key_generated=key_generated,
    )
    sys.stdout.write(text)
    sys.stdout.flush()


def _hypercorn_config(
    args: argparse.Namespace, settings: Settings, *, host: str, port: int
) -> Config:
    config = Config()
    config.application_path = "wrapper.asgi:app"
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.worker_class = args.worker_class
    config.accesslog = None
    # hypercorn's own records go through the app's log renderer (JSON or readable lines).
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = settings.shutdown_grace_s
    # Longer than a client's own idle expiry (httpx, the OpenAI and Anthropic SDKs: 5 s)
    # and a load balancer's (60 s on AWS): whoever is idle the longest must be the one to
    # close, or a request sent just as the server closes is lost on the wire.
    config.keep_alive_timeout = settings.keep_alive_s
    # The server runs in this process (no supervisor holding a copy of the listening
    # socket), so a shutdown closes the socket at once: a new connection during the
    # grace period is refused instead of waiting unanswered in the backlog.
    config.workers = 0
    if args.certfile is not None:
        config.certfile = str(args.certfile)
        config.keyfile = str(args.keyfile)
    return config
