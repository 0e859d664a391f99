"""Images and files given as data URIs or URLs, checked against what Claude accepts."""

from __future__ import annotations

import base64
import binascii
import re

from wrapper.errors import InvalidRequestError
from wrapper.events import DocumentPart, ImagePart

IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
DOCUMENT_MEDIA_TYPES = frozenset({"application/pdf", "text/plain"})

_DATA_URI = re.compile(
    r"^data:(?P<type>[\w.+-]+/[\w.+-]+)(?P<params>(;[^,;]*)*?);base64,(?P<data>.*)$", re.S
)


def _decode_data_uri(uri: str, param: str) -> tuple[str, str]:
    match = _DATA_URI.match(uri)
    if match is None:
        raise InvalidRequestError(
            "A data URI must look like data:<media type>;base64,<data>.", param=param
        )
    media_type = match.group("type").lower()
    data = match.group("data").strip()
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestError("The data URI does not hold valid base64.", param=param) from None
    return media_type, data


def image_from_url(url: str, param: str) -> ImagePart:
    """An image part from an ``image_url`` value (a data URI or an http(s) URL).

    Raises:
        InvalidRequestError: unsupported scheme or media type, or bad base64.
    """
    if url.startswith("data:"):
        media_type, data = _decode_data_uri(url, param)
        if media_type == "image/jpg":
            media_type = "image/jpeg"
        if media_type not in IMAGE_MEDIA_TYPES:
            raise InvalidRequestError(
                f"Unsupported image type {media_type}; use one of "
                f"{', '.join(sorted(IMAGE_MEDIA_TYPES))}.",
                param=param,
            )
        return ImagePart(media_type=media_type, data=data)
    if url.startswith(("https://", "http://")):
        return ImagePart(url=url)
    raise InvalidRequestError("An image URL must be a data URI or an http(s) URL.", param=param)


def document_from_data(file_data: str, param: str, title: str | None = None) -> DocumentPart:
    """A document part from base64 file data (a data URI, or bare base64 of a PDF).

    Raises:
        InvalidRequestError: unsupported media type or bad base64.
    """
    if file_data.startswith("data:"):
        media_type, data = _decode_data_uri(file_data, param)
    else:
        media_type, data = "application/pdf", file_data.strip()
        try:
            base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequestError("file_data is not valid base64.", param=param) from None
    if media_type not in DOCUMENT_MEDIA_TYPES:
        raise InvalidRequestError(
            f"Unsupported file type {media_type}; use application/pdf or text/plain.", param=param
        )
    if media_type == "text/plain":
        text = base64.b64decode(data).decode("utf-8", errors="replace")
        source = {"type": "text", "media_type": "text/plain", "data": text}
    else:
        source = {"type": "base64", "media_type": media_type, "data": data}
    return DocumentPart(source=source, title=title)
