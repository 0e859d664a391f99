"""The requests ``benchmarks.conversations`` measures, one scenario per kind of conversation.

A :class:`Client` is one contender's HTTP client plus the state its scenarios
keep between requests (a stateless client's conversation, a server-side
session). Every scenario is one coroutine function returning the latency of the
one request it times; the fake upstream answers each with the instant reply
(the marker is in the last user message).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from benchmarks.contenders import MODEL, ServerContender
from benchmarks.upstream import INSTANT_MARKER

Message = dict[str, Any]
Messages = list[Message]
Scenario = Callable[[], Coroutine[Any, Any, float]]
EXAMPLES: Messages = [
    message
    for n in range(5)
    for message in (
        {"role": "user", "content": f"Example question {n}: is {n} even?"},
        {"role": "assistant", "content": "yes" if n % 2 == 0 else "no"},
    )
]
LENGTHS = (1, 10, 50, 200)
AGENT_TURNS = 10
# A conversation (or a session) is started again past this size, so that it stays short.
FOLLOW_UP_MESSAGES = 20
SESSION_TURNS = 10
# Two function tools, the kind a coding agent declares on every call.
AGENT_TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a file of the project and return its text.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string", "description": "relative path"}},
                "required": ["path"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "run_command",
            "description": "Run a shell command in the project and return its output.",
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string"}},
                "required": ["command"],
            },
        },
    },
]


def ask(text: str) -> Message:
    return {"role": "user", "content": f"{text} {INSTANT_MARKER}"}


def history(turns: int, tag: str) -> Messages:
    """``turns`` user messages with the assistant's replies between them, ending with a user's."""
    messages: Messages = []
    for n in range(turns - 1):
        messages.append({"role": "user", "content": f"turn {n} of {tag}"})
        messages.append({"role": "assistant", "content": f"reply {n} of {tag}"})
    messages.append(ask(f"last turn of {tag}"))
    return messages


def _tool_call(n: int, tag: str) -> tuple[Message, ...]:
    """An assistant turn asking for one tool, the tool's result, and the answer after it."""
    call_id = f"call_{tag}_{n}"
    if n % 4 == 0:
        name, arguments, result = "read_file", {"path": f"src/module_{n}.py"}, f"def f{n}(): ..."
    else:
        name, arguments, result = "run_command", {"command": f"pytest -k t{n}"}, "1 passed"
    function = {"name": name, "arguments": json.dumps(arguments)}
    call = {"id": call_id, "type": "function", "function": function}
    return (
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": f"{result} ({tag})"},
        {"role": "assistant", "content": f"done step {n} of {tag}"},
    )


def agent_history(turns: int, tag: str) -> Messages:
    """A coding agent's first call of a conversation it had elsewhere: ``turns`` user
    messages; every other assistant turn calls a tool (``tool_calls``, then the
    ``role: tool`` result, then the assistant's text), ending with a user's."""
    messages: Messages = []
    for n in range(turns - 1):
        messages.append({"role": "user", "content": f"task {n} of {tag}"})
        if n % 2 == 0:
            messages.extend(_tool_call(n, tag))
        else:
            messages.append({"role": "assistant", "content": f"answer {n} of {tag}"})
    messages.append(ask(f"next task of {tag}"))
    return messages


class Client:
    """One contender's HTTP client and the conversation state its scenarios keep."""

    def __init__(self, contender: ServerContender) -> None:
        self.contender = contender
        self.last: Messages | None = None
        self.session: str | None = None
        self.session_turns = 0

    async def post(self, messages: Messages, **extra: Any) -> tuple[float, str]:
        body = {"model": MODEL, "messages": messages, **extra}
        started = time.perf_counter()
        response = await self.contender.http.post("/v1/chat/completions", json=body)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(
                f"{self.contender.name}: HTTP {response.status_code}: {response.text[:300]}"
            )
        return elapsed, response.json()["choices"][0]["message"]["content"] or ""

    async def prepare(self, scenario: str, size: int) -> None:
        """Before a batch's CPU window: start the conversation a continuing scenario goes
        on with when there is none, or when ``size`` more turns would outgrow it, so
        that no batch counts the start of its conversation."""
        if scenario in ("follow-up", "regenerate"):
            grows = 2 * (size - 1) if scenario == "follow-up" else 0  # a regenerate replaces
            if self.last is None or len(self.last) + grows > FOLLOW_UP_MESSAGES:
                await self.start_conversation()
        elif scenario == "session-next" and (
            self.session is None or self.session_turns + size > SESSION_TURNS
        ):
            await self.session_first()

    async def start_conversation(self) -> None:
        self.last = [ask(f"Start {uuid.uuid4().hex[:8]}")]
        _, reply = await self.post(self.last)
        self.last.append({"role": "assistant", "content": reply})

    async def one_shot(self) -> float:
        return (await self.post([ask(f"Say hi {uuid.uuid4().hex[:8]}")]))[0]

    async def follow_up(self) -> float:
        if self.last is None or len(self.last) > FOLLOW_UP_MESSAGES:
            await self.start_conversation()  # off the clock: the conversation's start
        assert self.last is not None
        messages = [*self.last, ask(f"and then {uuid.uuid4().hex[:8]}")]
        elapsed, reply = await self.post(messages)
        self.last = [*messages, {"role": "assistant", "content": reply}]
        return elapsed

    async def few_shot(self) -> float:
        return (await self.post([*EXAMPLES, ask(f"Is {uuid.uuid4().hex[:8]} even?")]))[0]

    async def regenerate(self) -> float:
        if self.last is None:
            await self.start_conversation()
        assert self.last is not None
        messages = [*self.last[:-2], ask(f"instead {uuid.uuid4().hex[:8]}")]
        elapsed, reply = await self.post(messages)
        self.last = [*messages, {"role": "assistant", "content": reply}]
        return elapsed

    async def few_shot_chat(self) -> float:
        """A chat of two exchanges and a new question under the fixed examples, whose
        own turns no process holds (its process went on with another client's
        question): the examples are shared, the chat's turns are not."""
        return (await self.post([*EXAMPLES, *history(3, uuid.uuid4().hex[:8])]))[0]

    def unseen(self, turns: int) -> Scenario:
        async def run() -> float:
            return (await self.post(history(turns, uuid.uuid4().hex[:8])))[0]

        return run

    async def unseen_agent(self) -> float:
        messages = agent_history(AGENT_TURNS, uuid.uuid4().hex[:8])
        return (await self.post(messages, tools=AGENT_TOOLS))[0]

    async def new_system(self) -> float:
        """One user message under a system prompt no process has: a new app, or a
        coding agent's new session (its prompt carries the date, directory, git state)."""
        system = {"role": "system", "content": f"You are assistant {uuid.uuid4().hex[:8]}."}
        return (await self.post([system, ask(f"Say hi {uuid.uuid4().hex[:8]}")]))[0]

    async def new_agent(self) -> float:
        """A coding agent's first call in a new session: its own system prompt, its
        tools, and a history no process has seen."""
        system = {"role": "system", "content": f"You are agent {uuid.uuid4().hex[:8]}."}
        messages = [system, *agent_history(AGENT_TURNS, uuid.uuid4().hex[:8])]
        return (await self.post(messages, tools=AGENT_TOOLS))[0]

    async def session_first(self) -> float:
        """The first turn of a new server-side session (a fresh ``session_id``)."""
        self.session, self.session_turns = str(uuid.uuid4()), 1
        message = ask(f"Session start {uuid.uuid4().hex[:8]}")
        return (await self.post([message], session_id=self.session))[0]

    async def session_next(self) -> float:
        """The next turn of a server-side session: only the new message, same id."""
        if self.session is None or self.session_turns >= SESSION_TURNS:
            await self.session_first()  # off the clock: the session's start
        self.session_turns += 1
        message = ask(f"and next {uuid.uuid4().hex[:8]}")
        return (await self.post([message], session_id=self.session))[0]


def _unseen(turns: int) -> Callable[[Client], Scenario]:
    return lambda client: client.unseen(turns)


SCENARIOS: dict[str, Callable[[Client], Scenario]] = {
    "one-shot": lambda c: c.one_shot,
    "follow-up": lambda c: c.follow_up,
    "few-shot": lambda c: c.few_shot,
    "few-shot-chat": lambda c: c.few_shot_chat,
    "regenerate": lambda c: c.regenerate,
    "session-first": lambda c: c.session_first,
    "session-next": lambda c: c.session_next,
    **{f"unseen-{n}": _unseen(n) for n in LENGTHS},
    f"unseen-agent-{AGENT_TURNS}": lambda c: c.unseen_agent,
    "new-system": lambda c: c.new_system,
    f"new-agent-{AGENT_TURNS}": lambda c: c.new_agent,
}
