"""The Responses API with the openai client: a reply, then a follow-up by previous_response_id.

CLAUDE_WRAPPER_URL=http://127.0.0.1:8000 API_KEY=... python examples/responses_api.py
"""

from __future__ import annotations

import sys

from _connection import API_KEY, BASE_URL, MODEL
from openai import OpenAI

client = OpenAI(base_url=f"{BASE_URL}/v1", api_key=API_KEY)
model = MODEL or "claude-sonnet-4-6"

question = " ".join(sys.argv[1:]) or "Pick a number between 1 and 10."

first = client.responses.create(model=model, input=question)
print("first:", first.output_text)
second = client.responses.create(model=model, input="Double it.", previous_response_id=first.id)
print("second:", second.output_text)
print("usage:", second.usage)
