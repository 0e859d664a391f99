"""Responses API ``input`` (a string or a list of items) -> a conversation of neutral parts.

Messages keep their role (system and developer text is set aside for the
system prompt); a ``function_call`` item becomes an assistant tool_use block
with the call's ``call_id`` as its id (a ``custom_tool_call`` likewise, its
free-text input as the ``input`` field), a ``function_call_output`` or
``custom_tool_call_output`` item a user tool_result block, and a ``reasoning``
item carrying a sealed thinking block (see
:mod:`wrapper.translate.openai_responses.reasoning_seal`) that block again. Other reasoning
items are dropped: Claude cannot be shown thinking without its signature. An
``item_reference`` is replaced by the stored output item it names (a message,
function call or reasoning item of a stored response), exactly as it was produced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from wrapper.errors import InvalidRequestError
from wrapper.events import DocumentPart, Part, Role, TextPart, ToolResultPart, ToolUsePart
from wrapper.schemas import openai_responses as rq
from wrapper.translate.media import document_from_data, image_from_url
from wrapper.translate.openai_responses.custom_tools import INPUT_FIELD
from wrapper.translate.openai_responses.reasoning_seal import unseal
from wrapper.translate.openai_responses.tools import flat_name
from wrapper.translate.openai_shared import call_arguments


def _system_text(content: str | list[rq.ContentPart], param: str) -> str:
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for index, part in enumerate(content):
        if not isinstance(part, rq.InputText | rq.OutputTextPart):
            raise InvalidRequestError(
                "System and developer messages may hold only text parts.",
                param=f"{param}.content[{index}]",
            )
        texts.append(part.text)
    return "\n".join(texts)


def _image(part: rq.InputImage, param: str) -> Part:
    if part.image_url is None:
        raise InvalidRequestError(
            "Images must be sent as image_url (a data URI or an http(s) URL); file_id is not "
            "supported because this server has no Files API.",
            param=param,
        )
    return image_from_url(part.image_url, f"{param}.image_url")


def _file(part: rq.InputFile, param: str) -> Part:
    if part.file_data is not None:
        return document_from_data(part.file_data, f"{param}.file_data", part.filename)
    if part.file_url is not None and part.file_url.startswith(("https://", "http://")):
        return DocumentPart(source={"type": "url", "url": part.file_url}, title=part.filename)
    raise InvalidRequestError(
        "Files must be sent inline as file_data or by an http(s) file_url; file_id is not "
        "supported because this server has no Files API.",
        param=param,
    )


def _user_parts(content: str | list[rq.ContentPart], param: str) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(text=content)] if content else []
    parts: list[Part] = []
    for index, part in enumerate(content):
        where = f"{param}.content[{index}]"
        if isinstance(part, rq.InputText | rq.OutputTextPart):
            if part.text:
                parts.append(TextPart(text=part.text))
        elif isinstance(part, rq.InputImage):
            parts.append(_image(part, where))
        elif isinstance(part, rq.InputFile):
            parts.append(_file(part, where))
        else:
            raise InvalidRequestError(
                "A refusal part is only valid in assistant messages.", param=where
            )
    return parts


def _assistant_parts(content: str | list[rq.ContentPart], param: str) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(text=content)] if content else []
    parts: list[Part] = []
    for index, part in enumerate(content):
        if isinstance(part, rq.InputText | rq.OutputTextPart):
            if part.text:
                parts.append(TextPart(text=part.text))
        elif isinstance(part, rq.RefusalPart):
            parts.append(TextPart(text=part.refusal))
        else:
            raise InvalidRequestError(
                "Assistant messages may hold only text and refusal parts.",
                param=f"{param}.content[{index}]",
            )
    return parts


def _tool_output(output: str | list[rq.ToolOutputPart], param: str) -> tuple[Any, ...]:
    if isinstance(output, str):
        return (TextPart(text=output),) if output else ()
    parts: list[Any] = []
    for index, part in enumerate(output):
        where = f"{param}.output[{index}]"
        if isinstance(part, rq.InputText):
            if part.text:
                parts.append(TextPart(text=part.text))
        elif isinstance(part, rq.InputImage):
            parts.append(_image(part, where))
        else:
            raise InvalidRequestError(
                "Function call outputs may hold only text and images.", param=where
            )
    return tuple(parts)


def item_references(input_: str | list[msgspec.Raw] | None) -> list[tuple[int, str]]:
    """The ``(index, id)`` of every ``item_reference`` in ``input``.

    Raises:
        InvalidRequestError: an item is invalid or unsupported (``param`` names it).
    """
    if not isinstance(input_, list):
        return []
    found: list[tuple[int, str]] = []
    for index, raw in enumerate(input_):
        item = rq.decode_input_item(raw, index)
        if isinstance(item, rq.ItemReference):
            found.append((index, item.id))
    return found


def input_conversation(
    input_: str | list[msgspec.Raw], references: Mapping[str, tuple[Part, ...]]
) -> tuple[list[str], list[tuple[Role, list[Part]]]]:
    """The system texts and the (role, parts) turns of ``input``, in order.

    ``references`` holds the content of the stored output items that
    ``item_reference`` items name (the caller looked them up).

    Raises:
        InvalidRequestError: an item or part is invalid or unsupported, or a reference
            was not looked up (``param`` names it).
    """
    if isinstance(input_, str):
        return [], [("user", [TextPart(text=input_)] if input_ else [])]
    system: list[str] = []
    turns: list[tuple[Role, list[Part]]] = []
    for index, raw in enumerate(input_):
        item = rq.decode_input_item(raw, index)
        param = f"input[{index}]"
        if isinstance(item, rq.MessageItem):
            if item.role in ("system", "developer"):
                text = _system_text(item.content, param)
                if text:
                    system.append(text)
            elif item.role == "user":
                turns.append(("user", _user_parts(item.content, param)))
            else:
                turns.append(("assistant", _assistant_parts(item.content, param)))
        elif isinstance(item, rq.FunctionCallItem):
            call = ToolUsePart(
                id=item.call_id,
                name=flat_name(item.namespace, item.name) if item.namespace else item.name,
                input=call_arguments(item.arguments, f"{param}.arguments"),
            )
            turns.append(("assistant", [call]))
        elif isinstance(item, rq.CustomToolCallItem):
            custom = ToolUsePart(id=item.call_id, name=item.name, input={INPUT_FIELD: item.input})
            turns.append(("assistant", [custom]))
        elif isinstance(item, rq.FunctionCallOutputItem | rq.CustomToolCallOutputItem):
            content = _tool_output(item.output, param)
            turns.append(("user", [ToolResultPart(tool_use_id=item.call_id, content=content)]))
        elif isinstance(item, rq.ReasoningItem):
            block = unseal(item.encrypted_content)
            if block is not None:
                turns.append(("assistant", [block]))
        else:
            parts = references.get(item.id)
            if parts is None:
                raise InvalidRequestError(
                    f"Item with id {item.id!r} not found.", param=f"{param}.id"
                )
            turns.append(("assistant", list(parts)))
    return system, turns
