"""claude-wrapper: OpenAI- and Anthropic-compatible HTTP server for Claude via Claude Code."""

__version__ = "0.1.0"
