"""Direct calls to Claude's API that do not go through Claude Code (token counting)."""
