"""The CLI's environment: an allow-list, never the server's whole environment.

The model can read its process's environment through a shell tool, and the
server's environment holds what the model must never see: the server's
``API_KEY``, client keys, a session store URL with its password, any host secret.
So a CLI process gets only what Claude Code needs (the host variables named
below, the upstream configuration, the variables this server sets for it) and
whatever the operator lists in ``CLI_ENV_PASSTHROUGH``.

The SDK always merges its process's environment under the one it is given, so
the allow-list is enforced by a tiny launcher the SDK runs as its CLI: it keeps
the variables the SDK was told to keep (``KEEP_VARIABLE``) and ``exec``\\ s the
real CLI with only those (``env -i``), so the CLI keeps the launcher's pid.

Where util-linux's ``setpriv`` can, the launcher also arms a parent-death signal,
SIGCONT: a CLI the pool froze while idle (SIGSTOP) is continued when the server
dies however it dies, and then exits as a running one does once its stdin closes.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

# Host variables Claude Code and the commands it runs need.
HOST_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TERM",
        "TZ",
        "TMPDIR",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "NODE_EXTRA_CA_CERTS",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    }
)
# The locale, the upstream configuration and Claude Code's own settings.
HOST_PREFIXES = ("LC_", "ANTHROPIC_", "CLAUDE_CODE_")

# What the SDK adds to every process's environment itself.
SDK_NAMES = (
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_AGENT_SDK_VERSION",
    "CLAUDE_AGENT_SDK_CLIENT_APP",
    "CLAUDE_AGENT_SDK_DERIVED_CLIENT_APP",
    "CLAUDE_CODE_SDK_READS_SESSION_STATE",
    "CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING",
    "PWD",
    "TRACEPARENT",
    "TRACESTATE",
)

KEEP_VARIABLE = "CLAUDE_WRAPPER_ENV_KEEP"
CLI_VARIABLE = "CLAUDE_WRAPPER_CLI"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Names are checked against _NAME before they reach KEEP_VARIABLE, so the evals
# only ever see identifiers.
_LAUNCHER = """#!/bin/sh
# Runs the Claude CLI with only the environment variables named in $CLAUDE_WRAPPER_ENV_KEEP.
set -- "$CLAUDE_WRAPPER_CLI" "$@"
for name in $CLAUDE_WRAPPER_ENV_KEEP; do
  eval "present=\\${$name+1}"
  if [ -n "$present" ]; then
    eval "value=\\$$name"
    set -- "$name=$value" "$@"
  fi
done
exec {death_signal}env -i "$@"
"""

LAUNCHER_NAME = "claude-env-launcher"


def is_name(name: str) -> bool:
    """Whether ``name`` can be an environment variable the launcher keeps."""
    return _NAME.fullmatch(name) is not None


def host_environment(environ: Mapping[str, str], extra: Iterable[str] = ()) -> dict[str, str]:
    """The server's variables a CLI process may see: the allow-list and ``extra``."""
    wanted = set(extra)
    return {
        name: value
        for name, value in environ.items()
        if is_name(name)
        and (name in HOST_NAMES or name.startswith(HOST_PREFIXES) or name in wanted)
    }


class Launcher(NamedTuple):
    """The installed launcher, and whether it continues the CLI when the server dies."""

    path: Path
    continues_on_parent_death: bool


def _death_signal_prefix() -> str:
    """``setpriv --pdeathsig CONT`` for the launcher's exec line, when this machine's
    ``setpriv`` takes it (Linux, util-linux 2.33 or newer); else nothing."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return ""
    try:
        probe = subprocess.run(  # noqa: S603 - fixed arguments; the path is which()'s
            [setpriv, "--pdeathsig", "CONT", "true"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{shlex.quote(setpriv)} --pdeathsig CONT " if probe.returncode == 0 else ""


def install_launcher(directory: Path) -> Launcher:
    """Write the launcher into ``directory`` (owner-only)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LAUNCHER_NAME
    staged = directory / f".{LAUNCHER_NAME}.tmp"
    death_signal = _death_signal_prefix()
    # str.replace, not format: the script is full of shell braces.
    staged.write_text(_LAUNCHER.replace("{death_signal}", death_signal), encoding="utf-8")
    staged.chmod(0o700)
    staged.replace(path)
    return Launcher(path, bool(death_signal))


def launched(env: Mapping[str, str], cli: str) -> dict[str, str]:
    """``env`` for a process started by the launcher: it keeps exactly these names
    (and what the SDK adds) and runs ``cli``."""
    keep = sorted({name for name in env if is_name(name)} | set(SDK_NAMES))
    return {**env, CLI_VARIABLE: cli, KEEP_VARIABLE: " ".join(keep)}
