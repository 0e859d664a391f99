"""Claude Code's own tools on a request: ``enable_tools``, the agent headers, MCP names.

All three APIs take the same extensions (sent with ``extra_body`` by the official
clients): ``enable_tools`` (refused unless the operator set
``ENABLE_SERVER_TOOLS=true``) and ``mcp_servers``, the names of registered MCP
servers to connect (which needs ``enable_tools``). Hosted web tools a client
declares (Responses ``web_search``, Anthropic ``web_search_*`` / ``web_fetch_*``)
become Claude Code's WebSearch / WebFetch when server tools are allowed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import msgspec

from wrapper.errors import InvalidRequestError
from wrapper.events import AgentSettings
from wrapper.translate.headers import ClaudeHeaders

MCP_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def mcp_names(raw: object, param: str = "mcp_servers") -> tuple[str, ...] | None:
    """The registered MCP servers a request names (``None``: the tools config decides).

    Raises:
        InvalidRequestError: not a list of server names.
    """
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise InvalidRequestError(
            f"{param} must be a list of registered MCP server names.", param=param
        )
    bad = [name for name in raw if not MCP_NAME.fullmatch(name)]
    if bad:
        raise InvalidRequestError(
            f"{param} holds an invalid server name: {bad[0]!r} (letters, digits, _ and -).",
            param=param,
        )
    return tuple(dict.fromkeys(raw))


def agent_settings(
    *,
    enable_tools: bool | None,
    allow_server_tools: bool,
    claude: ClaudeHeaders,
    mcp_servers: tuple[str, ...] | None = None,
    hosted: Sequence[str] = (),
) -> AgentSettings | None:
    """The turn's agent settings, or ``None`` when Claude Code's tools stay off.

    ``hosted`` names Claude Code tools that stand in for hosted tools the client
    declared: with server tools allowed they switch the tools on (just those, when
    the request did not ask for ``enable_tools`` itself); otherwise they are left out.

    Raises:
        InvalidRequestError: tools asked for on a server that does not allow them.
    """
    if enable_tools and not allow_server_tools:
        raise InvalidRequestError(
            "enable_tools is turned off on this server (set ENABLE_SERVER_TOOLS=true to allow "
            "Claude Code's own tools).",
            param="enable_tools",
        )
    if mcp_servers and not enable_tools:
        raise InvalidRequestError(
            "mcp_servers needs enable_tools: true (MCP tools run inside Claude Code).",
            param="mcp_servers",
        )
    hosted = tuple(dict.fromkeys(hosted)) if allow_server_tools else ()
    if not enable_tools and not hosted:
        return None
    agent = claude.agent()
    if hosted and not enable_tools:
        return msgspec.structs.replace(agent, allowed_tools=hosted, mcp_names=())
    if hosted and agent.allowed_tools is not None:
        allowed = tuple(dict.fromkeys((*agent.allowed_tools, *hosted)))
        agent = msgspec.structs.replace(agent, allowed_tools=allowed)
    return msgspec.structs.replace(agent, mcp_names=mcp_servers)
