"""The health of the Claude CLI's own login, and the gate it puts on chat routes.

With ``CLAUDE_AUTH_METHOD=cli`` the CLI answers with a login stored on this
machine, which can expire or be revoked. Two signals keep track of it:

* a background **probe** every ``CLI_AUTH_PROBE_INTERVAL_SECONDS`` runs the
  bundled CLI's ``claude auth status --json``: it reads the stored login
  locally, costs about a quarter of a CPU-second and makes no model query, so
  it spends nothing (unlike a one-turn "hello" query);
* a turn that Claude rejects for its credentials
  (:class:`~wrapper.errors.UpstreamAuthenticationError`) is reported here.

While the probe says the login is lost the chat routes answer 401
``authentication_error`` at once instead of spawning a CLI that would fail;
after a rejected turn they do so for :data:`REJECTION_HOLD_S`, then one request
tries again (the probe only sees local state, so it cannot clear a rejection).
A successful turn or probe clears the state. Only the ``cli`` method is gated:
a key, Bedrock or Vertex cannot recover by itself, and the upstream's own 401
already says what is wrong.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Literal

import anyio
import msgspec

from wrapper.errors import UpstreamAuthenticationError
from wrapper.logging import get_logger

log = get_logger(__name__)

REJECTION_HOLD_S = 60.0
PROBE_TIMEOUT_S = 30.0
_MAX_MESSAGE = 500

ErrorKind = Literal["not_logged_in", "upstream_rejected", "probe_failed"]


class ProbeResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one ``claude auth status`` run said."""

    logged_in: bool | None
    """``None`` when the probe itself failed (no verdict on the login)."""
    auth_method: str | None = None
    message: str | None = None


class CliLoginStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The login's state as ``GET /v1/auth/status`` reports it."""

    ok: bool | None
    gated: bool
    last_probed_at: float | None
    last_ok_at: float | None
    error_kind: ErrorKind | None
    error_message: str | None
    cli_auth_method: str | None
    probe: str
    probe_interval_seconds: float


class CliLoginHealth:
    """The last known state of the CLI login; the chat routes' gate."""

    def __init__(
        self,
        *,
        gated: bool,
        probe_interval_s: float,
        clock: Callable[[], float] = time.time,
        hold_s: float = REJECTION_HOLD_S,
    ) -> None:
        self.gated = gated
        self.probe_interval_s = probe_interval_s
        self._clock = clock
        self._hold_s = hold_s
        self.ok: bool | None = None
        self.last_probed_at: float | None = None
        self.last_ok_at: float | None = None
        self.error_kind: ErrorKind | None = None
        self.error_message: str | None = None
        self.cli_auth_method: str | None = None
        self._rejected_until = 0.0

    def record_probe(self, result: ProbeResult) -> None:
        """Take in a probe's verdict (a failed probe leaves the verdict as it was)."""
        now = self._clock()
        self.last_probed_at = now
        if result.logged_in is None:
            self.error_kind = "probe_failed"
            self.error_message = result.message
            log.warning("cli_auth.probe_failed", message=result.message)
            return
        self.cli_auth_method = result.auth_method
        if result.logged_in:
            if self.error_kind == "upstream_rejected" and now < self._rejected_until:
                return  # the probe sees local state only; Claude's rejection stands
            if self.ok is False and self.error_kind == "not_logged_in":
                log.info("cli_auth.login_restored", cli_auth_method=result.auth_method)
            self._mark_ok(now)
        else:
            if self.ok is not False:
                log.warning("cli_auth.login_lost", message=result.message)
            self.ok = False
            self.error_kind = "not_logged_in"
            self.error_message = result.message or "Claude Code is not logged in."

    def report_rejection(self, message: str | None = None) -> None:
        """A turn was refused by Claude for this server's credentials."""
        now = self._clock()
        self.ok = False
        self.error_kind = "upstream_rejected"
        self.error_message = (message or "Claude rejected the CLI's credentials.")[:_MAX_MESSAGE]
        self._rejected_until = now + self._hold_s
        log.warning("cli_auth.upstream_rejected")

    def report_success(self) -> None:
        """A turn completed: the login works."""
        if self.ok is not True:
            self._mark_ok(self._clock())
        else:
            self.last_ok_at = self._clock()

    def _mark_ok(self, now: float) -> None:
        self.ok = True
        self.last_ok_at = now
        self.error_kind = None
        self.error_message = None
        self._rejected_until = 0.0

    def is_lost(self) -> bool:
        """Whether chat routes should be refused now."""
        if not self.gated or self.ok is not False:
            return False
        if self.error_kind == "upstream_rejected":
            return self._clock() < self._rejected_until
        return self.error_kind == "not_logged_in"

    def check(self) -> None:
        """Refuse a chat request while the login is known to be lost.

        Raises:
            UpstreamAuthenticationError: the CLI is not logged in (401).
        """
        if self.is_lost():
            raise UpstreamAuthenticationError(
                "Claude Code on this server is not logged in (its login was lost or "
                "rejected): run `claude auth login` on the server, or set "
                "CLAUDE_CODE_OAUTH_TOKEN from `claude setup-token`.",
                code="claude_cli_not_authenticated",
            )

    def status(self) -> CliLoginStatus:
        probing = self.gated and self.probe_interval_s > 0
        return CliLoginStatus(
            ok=self.ok,
            gated=self.is_lost(),
            last_probed_at=self.last_probed_at,
            last_ok_at=self.last_ok_at,
            error_kind=self.error_kind,
            error_message=self.error_message,
            cli_auth_method=self.cli_auth_method,
            probe="claude auth status" if probing else "off",
            probe_interval_seconds=self.probe_interval_s if probing else 0.0,
        )


class _StatusOutput(msgspec.Struct):
    loggedIn: bool
    authMethod: str | None = None


_STATUS_DECODER = msgspec.json.Decoder(_StatusOutput)


async def probe_cli_login(
    command: Sequence[str], env: Mapping[str, str], timeout_s: float = PROBE_TIMEOUT_S
) -> ProbeResult:
    """Run ``command`` (the CLI's ``auth status --json``) and read its verdict."""
    try:
        with anyio.fail_after(timeout_s):
            done = await anyio.run_process(list(command), env=dict(env), check=False)
    except TimeoutError:
        return ProbeResult(logged_in=None, message="the auth status probe timed out")
    except OSError as exc:
        return ProbeResult(logged_in=None, message=f"the auth status probe could not run: {exc}")
    try:
        output = _STATUS_DECODER.decode(done.stdout)
    except msgspec.MsgspecError:
        tail = " ".join(done.stderr.decode("utf-8", "replace").split())[-200:]
        return ProbeResult(
            logged_in=None,
            message=f"the auth status probe exited {done.returncode} without a status: {tail}",
        )
    if output.loggedIn:
        return ProbeResult(logged_in=True, auth_method=output.authMethod)
    return ProbeResult(
        logged_in=False,
        auth_method=output.authMethod,
        message="Claude Code reports it is not logged in (`claude auth status`).",
    )


async def run_probe_loop(
    health: CliLoginHealth,
    probe: Callable[[], Awaitable[ProbeResult]],
    interval_s: float,
) -> None:
    """Probe now and then every ``interval_s`` seconds, until cancelled."""
    while True:
        result = await probe()
        health.record_probe(result)
        await anyio.sleep(interval_s)
