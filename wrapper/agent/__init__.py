"""Agent mode: Claude Code's own tools, their per-request settings, MCP servers.

``catalogue`` is a leaf (names, descriptions, the default set, permission modes);
``settings`` resolves a request's headers and body fields against it.
"""
