"""Anthropic Messages: request -> Turn, events -> messages and SSE events."""
