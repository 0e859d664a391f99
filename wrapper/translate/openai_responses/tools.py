"""Responses API ``tools`` and ``tool_choice`` -> the Turn's client tools.

* ``function`` tools are offered to the model under their own names.
* A ``namespace`` tool groups function tools (Codex CLI sends its multi-agent
  tools this way). Claude has no namespaces, so each member is offered as one
  function named ``<namespace>__<name>``; the model's calls of it go back to the
  client in the namespaced form (``name`` and ``namespace`` on the
  ``function_call`` item), and a ``function_call`` input item that carries a
  ``namespace`` is replayed under the flat name.
* A ``custom`` (freeform) tool is offered as a client tool taking one string
  (:mod:`.custom_tools`); its calls go back as ``custom_tool_call`` items.
* OpenAI's hosted tools (``web_search``, ``file_search``, ``code_interpreter``,
  ...) and any other tool type run on OpenAI's servers, not here. Mainstream
  clients send some by default, so they never fail the request: they are left
  out of what the model sees, and the response names them in its
  ``x-ignored-fields`` header (docs/compatibility-responses.md).
"""

from __future__ import annotations

import msgspec

from wrapper.errors import InvalidRequestError
from wrapper.events import ToolChoice, ToolSpec
from wrapper.schemas import openai_responses as rq
from wrapper.schemas import openai_responses_output as rs
from wrapper.translate.conversation import check_tools
from wrapper.translate.openai_responses.custom_tools import custom_spec
from wrapper.translate.openai_shared import EMPTY_SCHEMA, keep_allowed_tools

NAMESPACE_SEPARATOR = "__"


def flat_name(namespace: str, name: str) -> str:
    """The name a namespace member is offered under."""
    return f"{namespace}{NAMESPACE_SEPARATOR}{name}"


class ToolSet(msgspec.Struct, frozen=True, kw_only=True):
    """The tools of a request as the model sees them, and what the response echoes."""

    specs: tuple[ToolSpec, ...] = ()
    echo: list[rs.ToolOut] = []
    # Flat name -> (namespace, name inside it), to report calls in the client's form.
    namespaced: dict[str, tuple[str, str]] = {}
    # Names of the custom (freeform) tools, whose calls are ``custom_tool_call`` items.
    custom: frozenset[str] = frozenset()
    # ``tools[i]`` paths of the tools left out (hosted tools).
    ignored: tuple[str, ...] = ()
    # Claude Code tools standing in for hosted tools (``web_search`` -> WebSearch).
    hosted: tuple[str, ...] = ()


def _function(tool: rq.FunctionToolParam, param: str, prefix: str = "") -> ToolSpec:
    if tool.type != "function":
        raise InvalidRequestError(
            f"A namespace may hold only function tools, not {tool.type!r}.", param=f"{param}.type"
        )
    if not tool.name:
        raise InvalidRequestError("A function tool needs a name.", param=f"{param}.name")
    description = tool.description or ""
    if prefix:
        # One paragraph: Claude Code keeps only the first paragraph of a client tool's description.
        description = f"{prefix}\n{description}" if description else prefix
    return ToolSpec(
        name=tool.name, description=description, input_schema=tool.parameters or EMPTY_SCHEMA
    )


def _echo(tool: rq.FunctionToolParam) -> rs.FunctionToolOut:
    return rs.FunctionToolOut(
        name=tool.name or "",
        parameters=tool.parameters,
        strict=tool.strict,
        description=tool.description,
    )


_HOSTED_WEB_SEARCH = frozenset({"web_search", "web_search_preview"})


def tool_set(tools: list[rq.FunctionToolParam] | None, *, hosted_web: bool = False) -> ToolSet:
    """The request's tools: functions, flattened namespaces, hosted tools left out.

    With ``hosted_web`` (the operator allows server tools), a hosted ``web_search``
    is served by Claude Code's own WebSearch instead of being left out.

    Raises:
        InvalidRequestError: a function lacks a name, a namespace holds a non-function,
            or the resulting names break Claude's rules (``param`` names the tool).
    """
    specs: list[ToolSpec] = []
    echo: list[rs.ToolOut] = []
    namespaced: dict[str, tuple[str, str]] = {}
    custom: set[str] = set()
    ignored: list[str] = []
    hosted: list[str] = []
    for index, tool in enumerate(tools or ()):
        param = f"tools[{index}]"
        if hosted_web and tool.type in _HOSTED_WEB_SEARCH:
            hosted.append("WebSearch")
        elif tool.type == "function":
            specs.append(_function(tool, param))
            echo.append(_echo(tool))
        elif tool.type == "custom":
            specs.append(custom_spec(tool.name, tool.description, tool.format, param))
            custom.add(tool.name or "")
            echo.append(
                rs.CustomToolOut(
                    name=tool.name or "", description=tool.description, format=tool.format
                )
            )
        elif tool.type == "namespace":
            if not tool.name:
                raise InvalidRequestError("A namespace tool needs a name.", param=f"{param}.name")
            members = tool.tools or []
            for member_index, member in enumerate(members):
                where = f"{param}.tools[{member_index}]"
                spec = _function(member, where, tool.description or "")
                flat = flat_name(tool.name, spec.name)
                specs.append(ToolSpec(flat, spec.description, spec.input_schema))
                namespaced[flat] = (tool.name, spec.name)
            echo.append(
                rs.NamespaceToolOut(
                    name=tool.name,
                    description=tool.description,
                    tools=[_echo(member) for member in members],
                )
            )
        else:
            ignored.append(param)
    return ToolSet(
        specs=check_tools(specs, "tools"),
        echo=echo,
        namespaced=namespaced,
        custom=frozenset(custom),
        ignored=tuple(ignored),
        hosted=tuple(dict.fromkeys(hosted)),
    )


def _allowed(
    choice: rq.ToolChoiceObject, tools: tuple[ToolSpec, ...]
) -> tuple[tuple[ToolSpec, ...], ToolChoice]:
    if choice.mode not in ("auto", "required") or choice.tools is None:
        raise InvalidRequestError(
            "allowed_tools needs mode 'auto' or 'required' and a tools list.", param="tool_choice"
        )
    names: set[str] = set()
    for index, entry in enumerate(choice.tools):
        name = entry.get("name")
        if entry.get("type") not in ("function", "custom") or not isinstance(name, str):
            raise InvalidRequestError(
                "allowed_tools entries must be {type: function | custom, name}.",
                param=f"tool_choice.tools[{index}]",
            )
        namespace = entry.get("namespace")
        names.add(flat_name(namespace, name) if isinstance(namespace, str) else name)
    return keep_allowed_tools(tools, names, choice.mode, "tool_choice.tools")


def tool_choice_of(
    choice: rq.ToolChoiceValue | None, tools: tuple[ToolSpec, ...]
) -> tuple[tuple[ToolSpec, ...], ToolChoice]:
    """The tools left after ``tool_choice`` and the Turn's tool choice.

    Raises:
        InvalidRequestError: the choice needs tools there are none of, names an unknown
            tool, or picks a hosted tool.
    """
    if choice is None or choice == "auto":
        return tools, ToolChoice()
    if choice == "none":
        return tools, ToolChoice(mode="none")
    if choice == "required":
        if not tools:
            raise InvalidRequestError("tool_choice 'required' needs tools.", param="tool_choice")
        return tools, ToolChoice(mode="required")
    if choice.type == "allowed_tools":
        return _allowed(choice, tools)
    if choice.type not in ("function", "custom"):
        raise InvalidRequestError(
            f"tool_choice of type {choice.type!r} is not supported: only function and custom "
            "tools are.",
            param="tool_choice.type",
        )
    if choice.name not in {tool.name for tool in tools}:
        raise InvalidRequestError(
            f"tool_choice names an unknown tool {choice.name!r}.", param="tool_choice.name"
        )
    return tools, ToolChoice(mode="tool", name=choice.name)
