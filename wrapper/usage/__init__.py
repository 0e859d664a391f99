"""Usage: the Claude plan's windows (the CLI's rate-limit readings) and each client key's
requests, tokens, cost and budgets, kept in Redis, SQLite or memory."""
