"""A fake CLI process and factory for the pool's unit tests (no CLI, no SDK client).

:class:`FakeProcesses` implements the pool's ``ProcessFactory`` and every
process it makes implements ``PoolProcess``. Each await of a fake process is a
named *step* (``start``, ``stop``, ``clear``, ``rewind``, ``seed``, ``bind``,
``set_model``, ``send``, ``next``):
a test can :meth:`~FakeProcesses.pause` a step, wait until some process
:meth:`~FakeProcesses.reached` it, cancel the task that is awaiting it or
:meth:`~FakeProcesses.resume` it, and make a step fail. So the pool's state
machine runs deterministically, on either event loop, with no sleeps.

A user message sent to a fake process is answered by a short text turn (the
stream events and result message the real CLI would deliver).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from typing import Any

import anyio
import anyio.lowlevel
from claude_agent_sdk import ResultMessage, StreamEvent
from claude_agent_sdk.types import Message as SdkMessage

from wrapper.backend.pool import Launched
from wrapper.backend.profile import Profile
from wrapper.backend.spawn import SessionStart
from wrapper.backend.tool_gate import ToolGate
from wrapper.backend.turns import Deadline
from wrapper.events import ToolSpec, Turn

SESSION = "6f1c1f9e-0000-4000-8000-00000000f4ce"
STEPS = ("start", "stop", "clear", "rewind", "seed", "bind", "set_model", "send", "next")


def _event(event: dict[str, Any]) -> StreamEvent:
    return StreamEvent(uuid="u", session_id=SESSION, event=event, parent_tool_use_id=None)


def text_turn(text: str) -> list[SdkMessage]:
    """The messages of a whole text turn, as the CLI delivers them."""
    usage = {"input_tokens": 3, "output_tokens": 2}
    return [
        _event({"type": "message_start", "message": {"usage": usage}}),
        _event({"type": "content_block_start", "index": 0, "content_block": {"type": "text"}}),
        _event(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            }
        ),
        _event({"type": "content_block_stop", "index": 0}),
        _event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 2},
            }
        ),
        _event({"type": "message_stop"}),
        ResultMessage(
            subtype="success",
            duration_ms=1,
            duration_api_ms=1,
            is_error=False,
            num_turns=1,
            session_id=SESSION,
            stop_reason="end_turn",
            total_cost_usd=0.001,
            usage=usage,
        ),
    ]


class StepFailedError(Exception):
    """A step the test made fail."""


class FakeProcess:
    """One fake CLI process (see the module docstring)."""

    def __init__(self, factory: FakeProcesses, pid: int, model: str | None) -> None:
        self.factory = factory
        self._pid = pid
        self.model = model
        self.turns = 0
        self.alive = False
        self.total_cost_usd = 0.0
        self.dead = False
        self.stopped = False
        self.clear_ok = True
        self.rss: int | None = 100
        # CPU seconds it has used, as /proc would report them (tests move it on).
        self.cpu = 0.0
        self.sent: list[Any] = []
        self.clears = 0
        self.rewinds: list[str] = []
        self.rewind_ok = True
        self.seeded: list[list[tuple[str, list[dict[str, Any]]]]] = []
        self.seed_ok = True
        # Set for a process the factory made unbound; then what binding gave it.
        self.unbound = False
        self.bound: tuple[str, tuple[str, ...]] | None = None
        self.bind_ok = True
        # As a real process: frozen only while idle, continued by the next command.
        self.freezable = True
        self.frozen = False
        self.freezes = 0
        self.ids = (f"user-{pid}-{n}" for n in itertools.count())
        self._user_ids: list[str] = []
        self._outbox: deque[SdkMessage] = deque()
        self._mail = anyio.Event()

    @property
    def pid(self) -> int | None:
        return self._pid

    @property
    def exited(self) -> bool:
        return self.dead or self.stopped

    @property
    def stderr_tail(self) -> str:
        return ""

    @property
    def user_ids(self) -> Sequence[str]:
        return tuple(self._user_ids)

    def loaded(self, user_ids: Sequence[str]) -> None:
        self._user_ids = list(user_ids)

    def freeze(self) -> bool:
        if self.freezable and not self.exited and not self.frozen:
            self.frozen = True
            self.freezes += 1
        return self.frozen

    async def start(self) -> None:
        await self.factory.step("start", self)
        self.alive = True

    async def stop(self) -> None:
        self.alive = False
        if not self.stopped:
            self.stopped = True
            await self.factory.step("stop", self)

    async def clear(self) -> bool:
        self.clears += 1
        try:
            await self.factory.step("clear", self)
        except StepFailedError:
            return False
        self._user_ids = []
        return self.clear_ok and not self.exited

    async def rewind(self, to: str) -> bool:
        self.rewinds.append(to)
        try:
            await self.factory.step("rewind", self)
        except StepFailedError:
            return False
        if not self.rewind_ok or to not in self._user_ids:
            return False
        del self._user_ids[self._user_ids.index(to) :]
        return not self.exited

    async def seed(self, messages: Sequence[tuple[str, list[dict[str, Any]]]]) -> bool:
        await self.factory.step("seed", self)
        self.seeded.append(list(messages))
        if not self.seed_ok:
            return False
        self._user_ids.extend(next(self.ids) for role, _ in messages if role == "user")
        return not self.exited

    async def bind(self, system_prompt: str, tools: Sequence[ToolSpec], gate: ToolGate) -> bool:
        assert self.unbound and self.bound is None, "only an unbound spare is bound, once"
        await self.factory.step("bind", self)
        self.bound = (system_prompt, tuple(tool.name for tool in tools))
        return self.bind_ok and not self.exited

    async def set_model(self, model: str) -> None:
        if model != self.model:
            await self.factory.step("set_model", self)
            self.model = model

    async def send_user_message(self, content: list[dict[str, Any]] | str) -> str:
        await self.factory.step("send", self)
        self.sent.append(content)
        self.turns += 1
        self.deliver(text_turn(f"reply {self.turns}"))
        message_id = next(self.ids)
        self._user_ids.append(message_id)
        return message_id

    def deliver(self, messages: list[SdkMessage]) -> None:
        """Queue messages for :meth:`next_message`."""
        self._outbox.extend(messages)
        self._mail.set()

    async def next_message(self) -> SdkMessage:
        assert not self.frozen, "a frozen process is never read: nothing was sent to it"
        await self.factory.step("next", self)
        while not self._outbox:
            self._mail = anyio.Event()
            await self._mail.wait()
        return self._outbox.popleft()

    def next_message_nowait(self) -> SdkMessage | None:
        # Always the awaited path, so that tests can pause at each ``next`` step.
        return None

    def rss_bytes(self) -> int | None:
        return self.rss

    def cpu_seconds(self) -> float | None:
        return self.cpu


class FakeProcesses:
    """The fake ``ProcessFactory``; also where tests pause, resume and fail steps."""

    def __init__(self) -> None:
        self.made: list[FakeProcess] = []
        self.spawned: list[tuple[Turn, SessionStart | None]] = []
        self._pids = itertools.count(4000)
        self._paused: dict[str, anyio.Event] = {}
        self._failing: set[str] = set()
        self._waiting: dict[str, list[FakeProcess]] = {step: [] for step in STEPS}
        self._changed = anyio.Event()

    def _make(self, model: str | None) -> FakeProcess:
        process = FakeProcess(self, next(self._pids), model)
        self.made.append(process)
        return process

    def clean(self, profile: Profile, model: str) -> Launched:
        return Launched(self._make(model), ToolGate(refuse=profile.refuse_tool_calls))

    def unbound(self, base: Profile, model: str) -> Launched:
        process = self._make(model)
        process.unbound = True
        return Launched(process, ToolGate(refuse=base.refuse_tool_calls))

    async def spawn(
        self, turn: Turn, profile: Profile, deadline: Deadline, session: SessionStart | None
    ) -> Launched:
        process = self._make(turn.model)
        gate = ToolGate(refuse=profile.refuse_tool_calls)
        self.spawned.append((turn, session))
        try:
            with anyio.fail_after(deadline.remaining()):
                await process.start()
                await process.send_user_message("resumed")
                if session is None:  # resumed from a transcript of the whole conversation
                    users = sum(1 for message in turn.messages if message.role == "user")
                    process.loaded([f"transcript-{process.pid}-{n}" for n in range(users)])
        except BaseException:
            gate.close()
            with anyio.CancelScope(shield=True):
                await process.stop()
            raise
        return Launched(process, gate)

    # -- steering ----------------------------------------------------------------------

    def pause(self, step: str) -> None:
        """Make every process wait at ``step`` until :meth:`resume`."""
        self._paused.setdefault(step, anyio.Event())

    def resume(self, step: str) -> None:
        event = self._paused.pop(step, None)
        if event is not None:
            event.set()

    def fail(self, step: str, failing: bool = True) -> None:
        """Make ``step`` raise :class:`StepFailedError` (``clear`` then returns False)."""
        if failing:
            self._failing.add(step)
        else:
            self._failing.discard(step)

    def waiting(self, step: str) -> list[FakeProcess]:
        """The processes waiting at ``step`` now."""
        return list(self._waiting[step])

    async def reached(self, step: str) -> FakeProcess:
        """The first process waiting at (paused) ``step``, once there is one."""
        while not self._waiting[step]:
            changed = self._changed
            await changed.wait()
        return self._waiting[step][0]

    async def step(self, step: str, process: FakeProcess) -> None:
        if step != "next":
            process.frozen = False  # whatever the process is told continues it first
        paused = self._paused.get(step)
        if paused is not None:
            self._waiting[step].append(process)
            self._notify()
            try:
                await paused.wait()
            finally:
                self._waiting[step].remove(process)
        else:
            await anyio.lowlevel.checkpoint()
        if step in self._failing:
            raise StepFailedError(step)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()
