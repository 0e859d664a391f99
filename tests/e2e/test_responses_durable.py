"""Stored responses live in the session store: they survive a restart and continue after it."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import openai
import pytest

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream

pytestmark = pytest.mark.e2e


def test_previous_response_id_continues_after_a_restart(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    env = {"DATA_DIR": str(tmp_path / "data")}
    first, second = f"R{uuid.uuid4().hex[:10]}", f"R{uuid.uuid4().hex[:10]}"
    with ServerProcess(upstream.url, env=env) as proc:
        with openai.OpenAI(base_url=proc.url + "/v1", api_key="x", max_retries=0) as client:
            created = client.responses.create(model="claude-sonnet-4-6", input=f"remember {first}")
        assert proc.stop(signal.SIGTERM) == 0
    with (
        ServerProcess(upstream.url, env=env) as again,
        openai.OpenAI(base_url=again.url + "/v1", api_key="x", max_retries=0) as client,
    ):
        fetched = client.responses.retrieve(created.id)
        assert fetched.output_text == created.output_text
        follow = client.responses.create(
            model="claude-sonnet-4-6", input=f"recall {second}", previous_response_id=created.id
        )
        assert follow.output_text == f"You said: recall {second}"
    messages = upstream.recorded(second)[-1].body["messages"]
    texts = [m for m in messages if m["role"] in ("user", "assistant")]
    assert len(texts) == 3
    assert first in str(texts[0]["content"])
