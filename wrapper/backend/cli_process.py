"""One ``claude`` CLI process, driven through a connected ``ClaudeSDKClient``.

The process lives from :meth:`CliProcess.start` to :meth:`CliProcess.stop`.
Stopping is shielded and bounded: the OS process is terminated directly (SIGTERM,
then SIGKILL after a grace period) because closing the SDK iterator alone leaves
the CLI generating.

This is the only module that calls the SDK client, and every call runs under
the one error boundary, :func:`~wrapper.backend.sdk_errors.sdk_failures` (or, on
the per-message path, the :func:`~wrapper.backend.sdk_errors.classified_failure`
it uses): what the SDK or the CLI raises leaves here as a WrapperError. It is
also the only module that reaches into the SDK client's internals: the child's
pid, exit code and signals (for stopping), and the query's message stream, read
with a cancellation-safe ``receive()`` so that a turn abandoned mid-way (a
deadline, a disconnect) leaves the process readable for a clean reset. The SDK
version is pinned for that reason.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream
from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient, RateLimitEvent, ResultMessage
from claude_agent_sdk._internal.message_parser import parse_message
from claude_agent_sdk._internal.sdk_mcp_bridge import SdkMcpBridge
from claude_agent_sdk.types import Message as SdkMessage

from wrapper.backend.options import CLIENT_TOOL_SERVER, CliRuntime
from wrapper.backend.prompt_file import system_prompt_file
from wrapper.backend.sdk_errors import ProcessEndedError, classified_failure, sdk_failures
from wrapper.backend.tool_gate import ToolGate, client_tool_server
from wrapper.errors import WrapperError
from wrapper.events import ToolSpec
from wrapper.logging import get_logger

log = get_logger(__name__)

_STDERR_LINES = 40
_TERMINATE_GRACE_S = 2.0
_RESET_TIMEOUT_S = 10.0


class CliProcess:
    """A connected CLI process with the bookkeeping a pool needs."""

    def __init__(
        self,
        options: ClaudeAgentOptions,
        *,
        label: str = "",
        on_rate_limit: Callable[[dict[str, Any]], None] | None = None,
        freezable: bool = False,
    ) -> None:
        self._stderr: deque[str] = deque(maxlen=_STDERR_LINES)
        # Every rate-limit reading the CLI reports, whichever turn (or reset) it came in.
        self._on_rate_limit = on_rate_limit
        options.stderr = self._stderr.append
        self.options = options
        self.label = label
        self._client = ClaudeSDKClient(options)
        self.pid: int | None = None
        self.started_at = time.monotonic()
        self.turns = 0
        self.alive = False
        self.model: str | None = options.model
        self.total_cost_usd = 0.0
        self._stopped = False
        # Whether the CLI may be stopped (SIGSTOP) while idle: only when the launcher
        # arms a SIGCONT for the parent's death, so that a server that dies never
        # leaves a stopped CLI behind (a running one exits once its stdin closes).
        self._freezable = freezable
        self.frozen = False
        # The user messages of the conversation whose ids we chose (the ones we sent,
        # and the ones of a transcript it resumed), in order: rewind targets.
        self._user_ids: list[str] = []

    @classmethod
    def of(cls, runtime: CliRuntime, options: ClaudeAgentOptions, *, label: str) -> CliProcess:
        """A process of ``runtime``'s server: its rate-limit readings go where the
        runtime says, and it may be frozen while idle where the launcher allows."""
        return cls(
            options,
            label=label,
            on_rate_limit=runtime.on_rate_limit,
            freezable=runtime.freeze_idle,
        )

    @property
    def user_ids(self) -> Sequence[str]:
        """The ids of the user messages :meth:`rewind` can go back to, in order."""
        return tuple(self._user_ids)

    def loaded(self, user_ids: Sequence[str]) -> None:
        """The process was started on a transcript whose user messages have ``user_ids``."""
        self._user_ids = list(user_ids)

    @property
    def stderr_tail(self) -> str:
        """The last lines the CLI wrote to stderr (for diagnosing failures)."""
        return "\n".join(self._stderr)

    def _os_process(self) -> Any:
        return getattr(getattr(self._client, "_transport", None), "_process", None)

    @property
    def exited(self) -> bool:
        process = self._os_process()
        return process is None or process.returncode is not None

    @property
    def exit_code(self) -> int | None:
        """The CLI's exit status once it has exited (negative: the signal that ended it)."""
        returncode = getattr(self._os_process(), "returncode", None)
        return returncode if isinstance(returncode, int) else None

    def freeze(self) -> bool:
        """Stop the CLI of an idle process (SIGSTOP) until the next thing it is told,
        which continues it first: an idle CLI keeps collecting garbage and running
        timers of its own (~100-350 ms of CPU in the 40 s after a turn) that nothing
        here needs. False when it may not be frozen (see ``freezable``) or has exited."""
        process = self._os_process()
        if self.frozen or not self._freezable or process is None or process.returncode is not None:
            return self.frozen
        try:
            process.send_signal(signal.SIGSTOP)
        except ProcessLookupError:
            return False
        self.frozen = True
        return True

    def _thaw(self) -> None:
        """Continue a frozen CLI (before anything is written to it)."""
        if not self.frozen:
            return
        self.frozen = False
        process = self._os_process()
        if process is not None and process.returncode is None:
            with suppress(ProcessLookupError):
                process.send_signal(signal.SIGCONT)

    async def start(self) -> None:
        """Spawn the CLI and complete the SDK's initialize handshake.

        Raises:
            WrapperError: the CLI could not be started (classified, and logged).
        """
        with sdk_failures(self, "start"), system_prompt_file(self.options):
            await self._client.connect()
        self.alive = True
        self.pid = getattr(self._os_process(), "pid", None)
        log.debug("backend.process_spawned", pid=self.pid, label=self.label)

    async def send_user_message(self, content: list[dict[str, Any]] | str) -> str:
        """Send one user message; the CLI starts a turn for it. Returns the message's
        id (the CLI keeps the one given), which :meth:`rewind` can go back to.

        The message is marked ``client_composed``: the CLI delivers it as written,
        with no ``@path`` file-mention expansion and no slash-command dispatch.

        Raises:
            WrapperError: the message could not be sent (classified, and logged).
        """
        self._thaw()
        message_id = str(uuid.uuid4())
        message = {
            "type": "user",
            "uuid": message_id,
            "message": {"role": "user", "content": content},
            "parent_tool_use_id": None,
            "client_composed": True,
        }
        with sdk_failures(self, "send"):
            await self._client.query(_once(message))
        self._user_ids.append(message_id)
        self.turns += 1
        return message_id

    async def seed(self, messages: Sequence[tuple[str, list[dict[str, Any]]]]) -> bool:
        """Append ``messages`` (role, content blocks) to the idle conversation as they
        are, with no turn and no upstream call: the model later sees them as real
        earlier turns, tool calls and results included.

        A user message goes in as a prompt that does not query (``shouldQuery``
        false); the CLI appends it and answers with an empty result, which is waited
        for, because an assistant message (a replayed frame, appended as soon as it is
        read) sent before that would land ahead of it. Each user message is a rewind
        target afterwards. False when the CLI did not take a message as such (the
        process must not be used: its conversation is partly seeded).

        Raises:
            WrapperError: the CLI failed (classified, and logged).
        """
        self._thaw()
        for role, content in messages:
            message_id = str(uuid.uuid4())
            frame: dict[str, Any] = {
                "type": role,
                "uuid": message_id,
                "message": {"role": role, "content": content},
                "parent_tool_use_id": None,
            }
            if role == "user":
                frame.update(client_composed=True, shouldQuery=False)
            else:
                # As the CLI records its own replies: without a model, it drops their
                # thinking blocks before the next request (a signature is the model's).
                frame["message"].update(
                    id=f"msg_{message_id.replace('-', '')[:24]}", type="message", model=self.model
                )
            with sdk_failures(self, "seed"):
                await self._client.query(_once(frame))
            if role != "user":
                continue
            while not isinstance(result := await self.next_message(), ResultMessage):
                pass
            if result.is_error or result.num_turns:
                log.warning("backend.seed_refused", pid=self.pid, subtype=result.subtype)
                return False
            self._user_ids.append(message_id)
        return not self.exited

    async def bind(self, system_prompt: str, tools: Sequence[ToolSpec], gate: ToolGate) -> bool:
        """Bind a spare started unbound (``--await-claim``) to a profile: its system
        prompt, and the client's ``tools`` as an in-process MCP server whose calls
        park at ``gate``. A control request (``claim_session``, ~50 ms, no upstream
        call) instead of a new process; the model then sees what a process started
        with that profile would send it. False when the CLI refuses (the process
        must not be used).

        Raises:
            WrapperError: the CLI failed (classified, and logged).
        """
        self._thaw()
        query = getattr(self._client, "_query", None)
        if query is None:
            return False
        request: dict[str, Any] = {
            "subtype": "claim_session",
            "cwd": str(self.options.cwd),
            "system_prompt": [system_prompt],
        }
        if tools:
            config = client_tool_server(CLIENT_TOOL_SERVER, tools, gate)
            # The SDK routes the CLI's MCP messages for a server through a bridge of
            # its own, made at connect time for the servers it was given then.
            query.sdk_mcp_servers[CLIENT_TOOL_SERVER] = config["instance"]
            query._sdk_mcp_bridges[CLIENT_TOOL_SERVER] = SdkMcpBridge(
                CLIENT_TOOL_SERVER, config["instance"]
            )
            request["sdk_mcp_servers"] = [CLIENT_TOOL_SERVER]
        with sdk_failures(self, "bind"):
            response = await query._send_control_request(request, timeout=_RESET_TIMEOUT_S)
        if not isinstance(response, dict) or response.get("status") != "ok":
            log.warning("backend.bind_refused", pid=self.pid)
            return False
        return not self.exited

    async def rewind(self, to: str) -> bool:
        """Cut the conversation of an idle process back to just before user message
        ``to`` (a control request, ~2 ms, no upstream call); False when the CLI
        refuses (then the conversation is as it was) or the process fails.

        The CLI only rewinds when told the newest user message it holds: after
        turns whose tool results the CLI added itself, that is not one we know,
        and it refuses.
        """
        if to not in self._user_ids:
            return False
        self._thaw()
        request = {
            "subtype": "rewind_conversation",
            "target_message_uuid": to,
            "last_seen_user_message_uuid": self._user_ids[-1],
        }
        query = getattr(self._client, "_query", None)
        if query is None:
            return False
        try:
            with sdk_failures(self, "rewind"):
                response = await query._send_control_request(request, timeout=_RESET_TIMEOUT_S)
        except WrapperError:  # logged by the boundary
            return False
        if not isinstance(response, dict) or response.get("rewound") is not True:
            reason = response.get("reason") if isinstance(response, dict) else None
            log.info("backend.rewind_refused", pid=self.pid, reason=reason)
            return False
        del self._user_ids[self._user_ids.index(to) :]
        return not self.exited

    async def next_message(self) -> SdkMessage:
        """The next message of the CLI (cancellation-safe: nothing is lost).

        Raises:
            WrapperError: the process's stream ended (``cli_exited``), or the SDK
                failed (a crash, a protocol error); classified, and logged.
        """
        with sdk_failures(self, "read"):
            return await self._next_message()

    def next_message_nowait(self) -> SdkMessage | None:
        """The next message if the CLI already sent it, else None (never waits).

        A stream mid-answer has its messages queued; taking them without a wait
        spares each one a timeout scope.
        """
        # Called for every message of a turn: a failure is classified without a
        # context manager on the path of the ones that succeed.
        try:
            queue = self._queue()
            while True:
                try:
                    data = queue.receive_nowait()
                except anyio.WouldBlock:
                    return None
                except (anyio.EndOfStream, anyio.ClosedResourceError):
                    raise ProcessEndedError from None
                message = self._take(data)
                if message is not None:
                    return message
        except WrapperError:
            raise
        except Exception as exc:
            raise classified_failure(self, "read", exc) from exc

    def _queue(self) -> MemoryObjectReceiveStream[dict[str, Any]]:
        """The SDK's queue of the CLI's messages."""
        query = getattr(self._client, "_query", None)
        if query is None:
            raise ProcessEndedError
        queue: MemoryObjectReceiveStream[dict[str, Any]] = query._message_receive
        return queue

    async def _next_message(self) -> SdkMessage:
        queue = self._queue()
        while True:
            try:
                data = await queue.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                raise ProcessEndedError from None
            message = self._take(data)
            if message is not None:
                return message

    def _take(self, data: dict[str, Any]) -> SdkMessage | None:
        """``data`` from the SDK's queue as a message; None for one to skip."""
        kind = data.get("type")
        if kind == "end":
            raise ProcessEndedError
        if kind == "error":
            exc = data.get("exception")
            raise exc if isinstance(exc, Exception) else ProcessEndedError
        message = parse_message(data)
        if message is None:
            return None
        if isinstance(message, ResultMessage) and message.total_cost_usd is not None:
            self.total_cost_usd = message.total_cost_usd
        if isinstance(message, RateLimitEvent) and self._on_rate_limit is not None:
            self._observe(message.rate_limit_info.raw)
        return message

    def _observe(self, raw: dict[str, Any]) -> None:
        # A reading that cannot be recorded must never fail the turn it came with.
        try:
            if self._on_rate_limit is not None:
                self._on_rate_limit(raw)
        except Exception:
            log.warning("backend.rate_limit_not_recorded", pid=self.pid, exc_info=True)

    async def set_model(self, model: str) -> None:
        """Switch the model of the live process (applies to its next turn)."""
        if model != self.model:
            self._thaw()
            with sdk_failures(self, "set_model"):
                await self._client.set_model(model)
            self.model = model

    async def clear(self) -> bool:
        """Empty the conversation of an idle process: a rewind to its first message,
        else ``/clear`` (slower, and it leaves a note of the command that the model
        would see in the next conversation). No upstream call either way."""
        if self._user_ids and await self.rewind(self._user_ids[0]):
            return True
        self._user_ids = []
        self._thaw()
        with anyio.move_on_after(_RESET_TIMEOUT_S):
            try:
                with sdk_failures(self, "clear"):
                    await self._client.query("/clear")
                await self._drain_until_result()
            except WrapperError:  # logged by the boundary; the process is not reusable
                return False
            return not self.exited
        return False

    async def _drain_until_result(self) -> None:
        while not isinstance(await self.next_message(), ResultMessage):
            pass

    def rss_bytes(self) -> int | None:
        """Resident memory of the CLI process, from ``/proc`` (Linux only)."""
        if self.pid is None:
            return None
        try:
            with open(f"/proc/{self.pid}/statm", encoding="ascii") as statm:  # noqa: PTH123
                pages = int(statm.read().split()[1])
        except (OSError, ValueError, IndexError):
            return None
        return pages * os.sysconf("SC_PAGE_SIZE")

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the CLI process has used, from ``/proc`` (Linux only)."""
        if self.pid is None:
            return None
        try:
            with open(f"/proc/{self.pid}/stat", encoding="ascii") as stat:  # noqa: PTH123
                fields = stat.read().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        except (OSError, ValueError, IndexError):
            return None
        return ticks / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> None:
        """End the process at once; never raises, never leaves it running.

        Safe to call on a process whose start was interrupted (the OS process may
        exist before the handshake completed) and more than once.
        """
        if self._stopped:
            return
        self._stopped = True
        self.alive = False
        with anyio.CancelScope(shield=True):
            process = self._os_process()
            if process is not None and process.returncode is None:
                with suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                # A stopped process keeps the SIGTERM pending until it runs again.
                self._thaw()
                with anyio.move_on_after(_TERMINATE_GRACE_S):
                    await process.wait()
                if process.returncode is None:
                    with suppress(ProcessLookupError):
                        process.kill()
            with anyio.move_on_after(15), suppress(Exception):
                await self._client.disconnect()
            if process is not None and process.returncode is None:
                with suppress(ProcessLookupError):
                    process.kill()
                with anyio.move_on_after(5), suppress(Exception):
                    await process.wait()
        log.debug("backend.process_stopped", pid=self.pid, label=self.label, turns=self.turns)


async def _once(message: dict[str, Any]) -> Any:
    yield message
