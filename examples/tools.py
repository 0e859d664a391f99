"""Function calling with the openai client: the model asks for a tool, we run it, it answers.

CLAUDE_WRAPPER_URL=http://127.0.0.1:8000 API_KEY=... python examples/tools.py Paris
"""

from __future__ import annotations

import json
import sys
from typing import Any

from _connection import API_KEY, BASE_URL, MODEL
from openai import NOT_GIVEN, OpenAI

client = OpenAI(base_url=f"{BASE_URL}/v1", api_key=API_KEY)
model = MODEL or NOT_GIVEN
city = sys.argv[1] if len(sys.argv) > 1 else "Paris"

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def get_weather(city: str) -> dict[str, Any]:
    """A stand-in for a real weather service."""
    return {"city": city, "temperature_c": 21, "sky": "clear"}


messages: list[Any] = [{"role": "user", "content": f"What is the weather in {city}?"}]
for _ in range(4):
    completion = client.chat.completions.create(model=model, messages=messages, tools=TOOLS)  # type: ignore[arg-type]
    reply = completion.choices[0].message
    if not reply.tool_calls:
        print("answer:", reply.content)
        break
    messages.append(reply.model_dump(exclude_none=True))
    for call in reply.tool_calls:
        arguments = json.loads(call.function.arguments)
        print(f"tool call: {call.function.name}({arguments})")
        result = get_weather(**arguments)
        messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
