"""Writing a conversation as a CLI session transcript, so ``resume`` replays it natively.

The CLI resumes a session from ``<config>/projects/<project key>/<uuid>.jsonl``:
``user`` and ``assistant`` entries chained by ``parentUuid``. Written this way,
the model receives real alternating turns with their tool_use / tool_result and
thinking blocks, instead of one flattened text. The entry format is the CLI's
internal one: the SDK version is pinned and an end-to-end test guards it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from claude_agent_sdk import project_key_for_directory

from wrapper.backend.content import blocks
from wrapper.events import Message

CLI_VERSION = "2.1.330"


def transcript_path(config_dir: Path, cwd: str, session_id: str) -> Path:
    """Where the CLI looks for session ``session_id`` started in ``cwd``."""
    return config_dir / "projects" / project_key_for_directory(cwd) / f"{session_id}.jsonl"


def transcript_lines(
    messages: Sequence[Message], *, session_id: str, cwd: str, model: str
) -> list[str]:
    """The JSONL lines of a transcript holding ``messages`` in order."""
    return [
        json.dumps(entry, ensure_ascii=False)
        for entry in transcript_entries(messages, session_id=session_id, cwd=cwd, model=model)
    ]


def transcript_entries(
    messages: Sequence[Message],
    *,
    session_id: str,
    cwd: str,
    model: str,
    parent: str | None = None,
) -> list[dict[str, Any]]:
    """The transcript entries (user / assistant) holding ``messages`` in order; the
    first one follows entry ``parent`` (None: it starts the transcript)."""
    entries: list[dict[str, Any]] = []
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    for message in messages:
        entry_id = str(uuid.uuid4())
        body: dict[str, Any] = {"role": message.role, "content": blocks(message.content)}
        if message.role == "assistant":
            body.update(
                {
                    "id": f"msg_{entry_id.replace('-', '')[:24]}",
                    "type": "message",
                    "model": model,
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": 0, "output_tokens": 0},
                }
            )
        entry = {
            "parentUuid": parent,
            "isSidechain": False,
            "type": message.role,
            "message": body,
            "uuid": entry_id,
            "timestamp": now,
            "sessionId": session_id,
            "cwd": cwd,
            "userType": "external",
            "version": CLI_VERSION,
        }
        entries.append(entry)
        parent = entry_id
    return entries


def write_transcript(
    config_dir: Path, cwd: str, messages: Sequence[Message], *, model: str
) -> tuple[str, Path, list[str]]:
    """Write ``messages`` as a new session; returns its id, its file path and the
    ids of its user messages (in order: the CLI keeps them, so it can be rewound
    to any of them)."""
    session_id = str(uuid.uuid4())
    path = transcript_path(config_dir, cwd, session_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = transcript_entries(messages, session_id=session_id, cwd=cwd, model=model)
    lines = [json.dumps(entry, ensure_ascii=False) for entry in entries]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return session_id, path, [entry["uuid"] for entry in entries if entry["type"] == "user"]
