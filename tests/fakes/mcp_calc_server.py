"""A real stdio MCP server for the agent-mode tests, built on the ``mcp`` package.

Run as ``python tests/fakes/mcp_calc_server.py``: it serves ``add`` (sums two
integers) and ``whoami`` (names the working directory it was started in).
"""

from __future__ import annotations

import os

from mcp.server.mcpserver import MCPServer

server = MCPServer("calc")


@server.tool(description="Add two integers.")
def add(a: int, b: int) -> str:
    return f"sum={a + b}"


@server.tool(description="The directory this server runs in.")
def whoami() -> str:
    return os.getcwd()


if __name__ == "__main__":
    server.run()
