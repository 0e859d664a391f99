"""Chat Completions with the official openai client: one answer, then a streamed one.

CLAUDE_WRAPPER_URL=http://127.0.0.1:8000 API_KEY=... python examples/openai_chat.py
"""

from __future__ import annotations

import sys

from _connection import API_KEY, BASE_URL, MODEL
from openai import NOT_GIVEN, OpenAI

client = OpenAI(base_url=f"{BASE_URL}/v1", api_key=API_KEY)
model = MODEL or NOT_GIVEN
question = " ".join(sys.argv[1:]) or "What is 2 + 2?"

completion = client.chat.completions.create(
    model=model,  # type: ignore[arg-type]
    messages=[
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": question},
    ],
)
print("answer:", completion.choices[0].message.content)
print("usage:", completion.usage)

print("streamed: ", end="", flush=True)
stream = client.chat.completions.create(
    model=model,  # type: ignore[arg-type]
    messages=[{"role": "user", "content": f"Say it again, slowly: {question}"}],
    stream=True,
    stream_options={"include_usage": True},
)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        print(chunk.choices[0].delta.content, end="", flush=True)
    if chunk.usage:
        print("\nusage:", chunk.usage)
