"""Dialect requests -> Turns, and AgentEvents -> dialect objects and SSE frames."""
