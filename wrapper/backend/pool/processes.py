"""What the pool needs of a CLI process, and the factory that makes them.

The pool's state machine only ever sees these two Protocols. The real factory
wraps :class:`~wrapper.backend.cli_process.CliProcess` and
:func:`~wrapper.backend.spawn.spawn`; the unit tests drive the pool with a fake
process whose every await the test controls.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from claude_agent_sdk.types import Message as SdkMessage

from wrapper.backend.cli_process import CliProcess
from wrapper.backend.options import CliRuntime, build_options
from wrapper.backend.profile import Profile
from wrapper.backend.spawn import SessionStart, spawn
from wrapper.backend.tool_gate import ToolGate
from wrapper.backend.turns import Deadline
from wrapper.events import ToolSpec, Turn


class PoolProcess(Protocol):
    """One CLI process as the pool drives it."""

    turns: int
    alive: bool
    model: str | None
    total_cost_usd: float
    frozen: bool

    @property
    def pid(self) -> int | None: ...

    @property
    def exited(self) -> bool: ...

    @property
    def stderr_tail(self) -> str: ...

    @property
    def user_ids(self) -> Sequence[str]:
        """The ids of the user messages of its conversation that :meth:`rewind` can
        go back to, in order (of a resumed transcript's messages, then of the ones sent)."""

    async def start(self) -> None:
        """Spawn the CLI and connect to it."""

    async def stop(self) -> None:
        """End the process; never raises, safe to call twice and after a failed start."""

    async def clear(self) -> bool:
        """Empty the conversation of an idle process; False when it cannot be reused."""

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the process has used (None where it cannot be read)."""

    def freeze(self) -> bool:
        """Stop an idle process's CPU use until the next thing it is told (which
        continues it first); False when it may not be frozen."""

    async def set_model(self, model: str) -> None:
        """Switch the model for the next turn; writes nothing when it is already ``model``."""

    async def send_user_message(self, content: list[dict[str, Any]] | str) -> str:
        """Start a turn with one user message (counts a turn); returns its id."""

    async def seed(self, messages: Sequence[tuple[str, list[dict[str, Any]]]]) -> bool:
        """Append earlier messages (role, content blocks) to the idle conversation with
        no turn; False when the CLI did not take them (the process is then unusable)."""

    async def bind(self, system_prompt: str, tools: Sequence[ToolSpec], gate: ToolGate) -> bool:
        """Give a spare started unbound its profile's system prompt and client tools
        (their calls park at ``gate``); False when the CLI refuses (then unusable)."""

    async def rewind(self, to: str) -> bool:
        """Cut the idle conversation back to just before user message ``to``; False
        when that cannot be done (the conversation is then as it was, or the process
        is unusable)."""

    async def next_message(self) -> SdkMessage:
        """The next message of the running turn."""

    def next_message_nowait(self) -> SdkMessage | None:
        """The next message of the running turn if it has already arrived, else None."""

    def rss_bytes(self) -> int | None:
        """Resident memory, when it can be read."""


class Launched(NamedTuple):
    """A process made by the factory, its tool gate, and the transcript written for it."""

    process: PoolProcess
    gate: ToolGate
    transcript: Path | None = None


class ProcessFactory(Protocol):
    """How the pool gets processes."""

    def clean(self, profile: Profile, model: str) -> Launched:
        """A process of ``profile`` with an empty conversation, not started yet."""

    def unbound(self, base: Profile, model: str) -> Launched:
        """A spare that can be bound to any profile whose ``base`` is ``base``, not
        started yet."""

    async def spawn(
        self, turn: Turn, profile: Profile, deadline: Deadline, session: SessionStart | None
    ) -> Launched:
        """A started process already running ``turn`` (resumed from its whole
        conversation, or on a client session).

        Raises:
            BackendTimeoutError: the deadline passed while starting.
            WrapperError: the process could not be started.
        """


class CliProcesses:
    """The real factory: ``claude`` CLI processes sharing one :class:`CliRuntime`."""

    def __init__(self, runtime: CliRuntime) -> None:
        self.runtime = runtime

    def clean(self, profile: Profile, model: str) -> Launched:
        gate = ToolGate(refuse=profile.refuse_tool_calls)
        options = build_options(self.runtime, profile, model=model, gate=gate)
        return Launched(CliProcess.of(self.runtime, options, label="pool"), gate)

    def unbound(self, base: Profile, model: str) -> Launched:
        gate = ToolGate(refuse=base.refuse_tool_calls)
        options = build_options(self.runtime, base, model=model, gate=gate, unbound=True)
        return Launched(CliProcess.of(self.runtime, options, label="pool-unbound"), gate)

    async def spawn(
        self, turn: Turn, profile: Profile, deadline: Deadline, session: SessionStart | None
    ) -> Launched:
        label = "pool-session" if session else "pool-resume"
        process, gate, transcript = await spawn(
            self.runtime, turn, profile, deadline, label=label, session=session
        )
        return Launched(process, gate, transcript)
