"""The only package that talks to claude-agent-sdk: CLI processes, the pool, turns, errors."""
