"""A conversation kept by the server: send only the new message each turn.

With ``session_id`` (an ``extra_body`` field, or the ``X-Session-Id`` header) the
server keeps the conversation; the client never resends the history. Set
CLAUDE_WRAPPER_SECOND_URL to another replica on the same Redis (see compose.yaml)
and the second turn goes there: any replica can continue any session.

    CLAUDE_WRAPPER_URL=http://127.0.0.1:8000 API_KEY=... python examples/session_continuity.py
"""

from __future__ import annotations

import os
import sys
import uuid

import httpx
from _connection import API_KEY, BASE_URL, MODEL
from openai import NOT_GIVEN, OpenAI

second_url = os.environ.get("CLAUDE_WRAPPER_SECOND_URL", BASE_URL).rstrip("/")
name = sys.argv[1] if len(sys.argv) > 1 else "Ada"
session_id = f"example-{uuid.uuid4().hex[:12]}"
model = MODEL or NOT_GIVEN


def ask(base_url: str, text: str) -> str:
    client = OpenAI(base_url=f"{base_url}/v1", api_key=API_KEY)
    completion = client.chat.completions.create(
        model=model,  # type: ignore[arg-type]
        messages=[{"role": "user", "content": text}],
        extra_body={"session_id": session_id},
    )
    return completion.choices[0].message.content or ""


print(f"session {session_id}")
print(f"[{BASE_URL}] turn 1:", ask(BASE_URL, f"Hello! My name is {name}. Please remember it."))
print(f"[{second_url}] turn 2:", ask(second_url, "What is my name?"))

headers = {"Authorization": f"Bearer {API_KEY}"}
info = httpx.get(f"{second_url}/v1/sessions/{session_id}", headers=headers).json()
print("session:", info["turn_count"], "turns, expires", info["expires_at"])
deleted = httpx.delete(f"{BASE_URL}/v1/sessions/{session_id}", headers=headers).json()
print("deleted:", deleted["deleted"])
