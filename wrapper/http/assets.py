"""Files shipped in the package (the landing page, its script and styles), served from memory.

The files are read once, when the route table is built, from a folder of the
installed package: nothing is fetched from elsewhere, so the pages work offline.
Only names found in that folder are served (a path parameter is one segment,
and an unknown name is a 404).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources.abc import Traversable

from wrapper.errors import NotFoundError
from wrapper.http.responses import JSONResponse

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
# The pages hold the client's API key: no inline script, no other origin, no framing.
PAGE_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cache-control", "no-cache"),
)


class Asset:
    """One file's bytes and media type."""

    __slots__ = ("body", "media_type", "name")

    def __init__(self, name: str, body: bytes, media_type: str) -> None:
        self.name = name
        self.body = body
        self.media_type = media_type


class Assets:
    """The files of one package folder, by name."""

    def __init__(self, files: Mapping[str, Asset]) -> None:
        self._files = dict(files)

    @classmethod
    def load(cls, folder: Traversable) -> Assets:
        """Every file directly in ``folder`` whose suffix has a known media type."""
        files: dict[str, Asset] = {}
        for entry in folder.iterdir():
            suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
            if entry.is_file() and suffix in _MEDIA_TYPES:
                files[entry.name] = Asset(entry.name, entry.read_bytes(), _MEDIA_TYPES[suffix])
        return cls(files)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._files))

    def get(self, name: str) -> Asset:
        """The file called ``name``.

        Raises:
            NotFoundError: no such file in the folder.
        """
        asset = self._files.get(name)
        if asset is None:
            raise NotFoundError(f"No static file {name!r}.")
        return asset

    def response(self, name: str) -> JSONResponse:
        """``name`` as a complete response, with the page headers."""
        asset = self.get(name)
        return JSONResponse(asset.body, headers=PAGE_HEADERS, media_type=asset.media_type)
