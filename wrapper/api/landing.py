"""``GET /`` (and ``HEAD /``): the landing page, and ``GET /static/{name}``: its files.

``GET /api/hello`` answers the probe Claude Code sends to its base URL
(``HEAD <ANTHROPIC_BASE_URL>/api/hello``) to warm its connection: a 200, no key needed.

The page and everything it loads come from the package (``wrapper/static``), so it
works offline. It is public; what it shows it fetches from the ``/v1`` endpoints
in the browser, with the API key the visitor types (kept in session storage), so
a server with ``API_KEY`` set shows nothing to a visitor without it.
"""

from __future__ import annotations

from importlib.resources import files

import msgspec

from wrapper import __version__
from wrapper.http.assets import Assets
from wrapper.http.request import Request
from wrapper.http.responses import Response, json_response

LANDING_PAGE = "landing.html"
DOCS_PAGE = "docs.html"


def package_assets() -> Assets:
    """The files shipped in ``wrapper/static``."""
    return Assets.load(files("wrapper") / "static")


class Hello(msgspec.Struct, frozen=True):
    """What a probe of the server's root learns: the service and where its API lives."""

    service: str = "claude-wrapper"
    version: str = __version__
    api: str = "/v1"


class LandingAPI:
    def __init__(self, assets: Assets) -> None:
        self.assets = assets

    async def page(self, request: Request) -> Response:
        return self.assets.response(LANDING_PAGE)

    async def docs(self, request: Request) -> Response:
        return self.assets.response(DOCS_PAGE)

    async def asset(self, request: Request) -> Response:
        return self.assets.response(request.path_params["name"])

    async def hello(self, request: Request) -> Response:
        return json_response(Hello())
