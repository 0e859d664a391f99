"""Messages with the official anthropic client: one answer, then a streamed one.

CLAUDE_WRAPPER_URL=http://127.0.0.1:8000 API_KEY=... python examples/anthropic_messages.py
"""

from __future__ import annotations

import sys

import anthropic
from _connection import API_KEY, BASE_URL, MODEL

# The anthropic client adds /v1 itself and sends the key as x-api-key.
client = anthropic.Anthropic(base_url=BASE_URL, api_key=API_KEY)
model = MODEL or "claude-sonnet-4-6"
question = " ".join(sys.argv[1:]) or "Name three primary colours."

message = client.messages.create(
    model=model,
    max_tokens=512,
    system="You are terse.",
    messages=[{"role": "user", "content": question}],
)
print("answer:", "".join(block.text for block in message.content if block.type == "text"))
print("usage:", message.usage)

print("streamed: ", end="", flush=True)
with client.messages.stream(
    model=model,
    max_tokens=512,
    messages=[{"role": "user", "content": f"Once more: {question}"}],
) as stream:
    for text in stream.text_stream:
        print(text, end="", flush=True)
    final = stream.get_final_message()
print("\nstop reason:", final.stop_reason, "usage:", final.usage)
