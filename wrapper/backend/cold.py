"""The cold backend: one fresh CLI process per turn (``POOL_ENABLED=false``).

A single user message is sent on the CLI's stdin. A longer conversation is
written, whole, as a session transcript (the last user message included) and
the process is started with ``resume``: the CLI then answers that last message
as the continuation of an interrupted turn, so the model sees every turn —
tool calls and tool results included — exactly as the client sent them, and no
extra prompt. The process is stopped when the turn's context exits, however it
exits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import anyio

from wrapper.backend.cli_process import CliProcess
from wrapper.backend.content import blocks
from wrapper.backend.options import CliRuntime, build_options
from wrapper.backend.profile import Profile, profile_for
from wrapper.backend.sdk_errors import error_for_exception
from wrapper.backend.sdk_events import TurnReader
from wrapper.backend.transcript import write_transcript
from wrapper.errors import BackendTimeoutError, UpstreamError, WrapperError
from wrapper.events import AgentEvent, Turn


class Deadline:
    """A point in time a turn must finish by."""

    __slots__ = ("at", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.at = anyio.current_time() + timeout

    def remaining(self) -> float:
        return max(0.0, self.at - anyio.current_time())

    def expired_error(self) -> BackendTimeoutError:
        return BackendTimeoutError(
            f"The request ran past MAX_TIMEOUT ({round(self.timeout * 1000)} ms) and was stopped."
        )


def reader_for(turn: Turn, profile: Profile) -> TurnReader:
    """The SDK-message reader for ``turn`` served by ``profile``."""
    surfaced = () if turn.tool_choice.mode == "none" else profile.tool_names
    return TurnReader(
        model=turn.model,
        client_tools=surfaced,
        structured_output=turn.output_schema is not None,
        parallel_tool_calls=turn.parallel_tool_calls,
    )


async def read_turn(
    process: CliProcess, reader: TurnReader, deadline: Deadline
) -> AsyncIterator[AgentEvent]:
    """The events of the turn ``process`` is running, until ``reader`` says it is over.

    Raises:
        BackendTimeoutError: the deadline passed.
        WrapperError: the turn failed.
    """
    messages = process.messages()
    while not reader.done:
        try:
            with anyio.fail_after(deadline.remaining()):
                message = await anext(messages)
        except TimeoutError:
            raise deadline.expired_error() from None
        except StopAsyncIteration:
            raise UpstreamError(
                "The Claude CLI ended before finishing the reply.", code="cli_exited"
            ) from None
        except WrapperError:
            raise
        except Exception as exc:
            raise error_for_exception(exc, process.stderr_tail) from exc
        for event in reader.feed(message):
            yield event


class ColdBackend:
    """Spawns a CLI per turn; nothing is shared between turns."""

    def __init__(self, runtime: CliRuntime, *, timeout_s: float) -> None:
        self.runtime = runtime
        self.timeout_s = timeout_s

    @asynccontextmanager
    async def open(self, turn: Turn) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        deadline = Deadline(self.timeout_s)
        transcript: Path | None = None
        resume: str | None = None
        if len(turn.messages) > 1:
            resume, transcript = await anyio.to_thread.run_sync(
                lambda: write_transcript(
                    self.runtime.config_path, self.runtime.cwd, turn.messages, model=turn.model
                )
            )
        profile = profile_for(turn)
        options = build_options(self.runtime, profile, model=turn.model, resume=resume)
        process = CliProcess(options, label="cold")
        reader = reader_for(turn, profile)
        try:
            try:
                with anyio.fail_after(deadline.remaining()):
                    await process.start()
                    if resume is None:
                        await process.send_user_message(blocks(turn.messages[-1].content))
            except TimeoutError:
                raise deadline.expired_error() from None
            except WrapperError:
                raise
            except Exception as exc:
                raise error_for_exception(exc, process.stderr_tail) from exc
            yield read_turn(process, reader, deadline)
        finally:
            await process.stop(graceful=False)
            if transcript is not None:
                with suppress(OSError):
                    transcript.unlink()
