"""OpenAI Chat Completions: request -> Turn, events -> chunks and completions."""
