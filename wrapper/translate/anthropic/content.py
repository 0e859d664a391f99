"""Anthropic content blocks -> neutral content parts.

Text, images (base64 or URL), documents (PDF, text, content, URL), tool use,
tool results, thinking and redacted thinking become the Turn's parts; a
``tool_reference`` in a tool result (tool search) loads the deferred tool it names;
blocks of Anthropic's server tools, search results and Files API references are
refused with a 400 that names the block.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from wrapper.errors import InvalidRequestError
from wrapper.events import (
    DocumentPart,
    ImagePart,
    Part,
    RedactedThinkingPart,
    Role,
    TextPart,
    ThinkingPart,
    ToolResultPart,
    ToolUsePart,
)
from wrapper.schemas import anthropic as an
from wrapper.translate.media import IMAGE_MEDIA_TYPES


def _check_base64(data: str, param: str) -> str:
    cleaned = data.strip()
    try:
        base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestError("source.data is not valid base64.", param=param) from None
    return cleaned


def _http_url(url: str, param: str) -> str:
    if not url.startswith(("https://", "http://")):
        raise InvalidRequestError("A source URL must be an http(s) URL.", param=param)
    return url


def _no_files(param: str) -> InvalidRequestError:
    return InvalidRequestError(
        "File sources (file_id from the Files API) are not supported by this server; "
        "send the data inline (base64) or by URL.",
        param=param,
    )


def image_part(block: an.ImageBlock, param: str) -> ImagePart:
    """An image block as an :class:`ImagePart`.

    Raises:
        InvalidRequestError: unsupported media type, bad base64, a non-http URL or a file.
    """
    source = block.source
    where = f"{param}.source"
    if isinstance(source, an.Base64ImageSource):
        if source.media_type not in IMAGE_MEDIA_TYPES:
            raise InvalidRequestError(
                f"Unsupported image type {source.media_type}; use one of "
                f"{', '.join(sorted(IMAGE_MEDIA_TYPES))}.",
                param=f"{where}.media_type",
            )
        return ImagePart(
            media_type=source.media_type, data=_check_base64(source.data, f"{where}.data")
        )
    if isinstance(source, an.URLImageSource):
        return ImagePart(url=_http_url(source.url, f"{where}.url"))
    raise _no_files(where)


def _document_part(block: an.DocumentBlock, param: str) -> DocumentPart:
    source = block.source
    where = f"{param}.source"
    raw: dict[str, Any]
    if isinstance(source, an.Base64DocumentSource):
        if source.media_type != "application/pdf":
            raise InvalidRequestError(
                "A base64 document must be application/pdf (use a text source for plain text).",
                param=f"{where}.media_type",
            )
        data = _check_base64(source.data, f"{where}.data")
        raw = {"type": "base64", "media_type": "application/pdf", "data": data}
    elif isinstance(source, an.PlainTextSource):
        if source.media_type != "text/plain":
            raise InvalidRequestError(
                "A text document source must be text/plain.", param=f"{where}.media_type"
            )
        raw = {"type": "text", "media_type": "text/plain", "data": source.data}
    elif isinstance(source, an.ContentSource):
        raw = {"type": "content", "content": _source_content(source.content, where)}
    elif isinstance(source, an.URLDocumentSource):
        raw = {"type": "url", "url": _http_url(source.url, f"{where}.url")}
    else:
        raise _no_files(where)
    return DocumentPart(source=raw, title=block.title)


def _source_content(
    content: str | list[an.TextBlock | an.ImageBlock], param: str
) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    blocks: list[dict[str, Any]] = []
    for index, item in enumerate(content):
        if isinstance(item, an.TextBlock):
            blocks.append({"type": "text", "text": item.text})
        else:
            image = image_part(item, f"{param}.content[{index}]")
            if image.data is not None:
                source = {"type": "base64", "media_type": image.media_type, "data": image.data}
            else:
                source = {"type": "url", "url": image.url}
            blocks.append({"type": "image", "source": source})
    return blocks


def _tool_result(block: an.ToolResultBlock, param: str) -> ToolResultPart:
    content: list[TextPart | ImagePart] = []
    if isinstance(block.content, str):
        if block.content:
            content.append(TextPart(text=block.content))
    elif block.content is not None:
        for index, item in enumerate(block.content):
            where = f"{param}.content[{index}]"
            if isinstance(item, an.TextBlock):
                if item.text:
                    content.append(TextPart(text=item.text))
            elif isinstance(item, an.ImageBlock):
                content.append(image_part(item, where))
            elif isinstance(item, an.ToolReferenceBlock):
                # The deferred tool it names is offered to the model (tools_in_play);
                # the model also reads which tool the search loaded.
                content.append(TextPart(text=f"Tool loaded: {_reference_name(item, where)}"))
            else:
                raise InvalidRequestError(
                    "A tool_result may hold only text and image blocks here "
                    f"({block_tag(item)} blocks are not supported inside tool results).",
                    param=where,
                )
    return ToolResultPart(
        tool_use_id=block.tool_use_id, content=tuple(content), is_error=block.is_error
    )


def _reference_name(block: an.ToolReferenceBlock, param: str) -> str:
    name = block.tool_name or block.name
    if not name:
        raise InvalidRequestError("A tool_reference names its tool (tool_name).", param=param)
    return name


def referenced_tools(messages: Sequence[an.InputMessage]) -> set[str]:
    """The tools named by ``tool_reference`` blocks in tool results (tool search)."""
    names: set[str] = set()
    for message in messages:
        if isinstance(message.content, str) or isinstance(message, an.SystemMessage):
            continue
        for block in message.content:
            if not isinstance(block, an.ToolResultBlock) or isinstance(block.content, str | None):
                continue
            for item in block.content:
                if isinstance(item, an.ToolReferenceBlock) and (item.tool_name or item.name):
                    names.add(item.tool_name or item.name or "")
    return names


def block_tag(block: Any) -> str:
    """The ``type`` tag of a decoded block or tool choice."""
    return str(type(block).__struct_config__.tag)


def parts_of(content: an.MessageContent, role: Role, param: str) -> list[Part]:
    """The parts of one message's content.

    Raises:
        InvalidRequestError: a block is unsupported, invalid or in the wrong role.
    """
    if isinstance(content, str):
        return [TextPart(text=content)] if content else []
    parts: list[Part] = []
    for index, block in enumerate(content):
        where = f"{param}.content[{index}]"
        if isinstance(block, an.TextBlock):
            if block.text:
                parts.append(TextPart(text=block.text))
        elif isinstance(block, an.ImageBlock):
            parts.append(image_part(block, where))
        elif isinstance(block, an.DocumentBlock):
            parts.append(_document_part(block, where))
        elif isinstance(block, an.ToolUseBlock):
            if role != "assistant":
                raise InvalidRequestError(
                    "tool_use blocks may appear only in assistant messages.", param=where
                )
            parts.append(ToolUsePart(id=block.id, name=block.name, input=block.input))
        elif isinstance(block, an.ToolResultBlock):
            if role != "user":
                raise InvalidRequestError(
                    "tool_result blocks may appear only in user messages.", param=where
                )
            parts.append(_tool_result(block, where))
        elif isinstance(block, an.ThinkingBlock | an.RedactedThinkingBlock):
            if role != "assistant":
                raise InvalidRequestError(
                    "Thinking blocks may appear only in assistant messages.", param=where
                )
            if isinstance(block, an.ThinkingBlock):
                # Unsigned thinking (the tool steps this server shows) cannot be replayed.
                if block.signature:
                    parts.append(ThinkingPart(thinking=block.thinking, signature=block.signature))
            else:
                parts.append(RedactedThinkingPart(data=block.data))
        elif isinstance(block, an.SearchResultBlock):
            raise InvalidRequestError(
                "search_result blocks are not supported by this server.", param=where
            )
        else:
            raise InvalidRequestError(
                f"{block_tag(block)} blocks belong to Anthropic's server-side tools, which this "
                "server does not run; remove them from the history.",
                param=where,
            )
    return parts
