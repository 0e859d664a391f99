"""The four points where the app hands a request to the request policy.

1. :meth:`RequestHooks.admit`, right after route resolution (before auth and
   before the body is read): apply the Host and content-type rules, find the
   client's address (trusted proxies) and apply its endpoint group's rate limit.
2. :meth:`RequestHooks.gate`, after auth: refuse chat routes while the CLI
   login is known to be lost.
3. :meth:`RequestHooks.stream_started`, when a handler returned a stream: count
   it as active.
4. :meth:`RequestHooks.finish`, when the request is over (always): request and
   latency metrics, and the end of an active stream.
"""

from __future__ import annotations

from wrapper.http.request import Request
from wrapper.http.routing import Route
from wrapper.monitoring.metrics import Metrics
from wrapper.policy.browser_guard import BrowserGuard
from wrapper.policy.client_address import ClientAddressResolver
from wrapper.policy.ratelimit import RateLimiter
from wrapper.upstream.login import CliLoginHealth

GATED_GROUPS = frozenset({"chat"})
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestHooks:
    """Rate limits, the login gate, the cost header and request metrics."""

    def __init__(
        self,
        *,
        limiter: RateLimiter,
        addresses: ClientAddressResolver,
        login: CliLoginHealth,
        metrics: Metrics,
        guard: BrowserGuard | None = None,
    ) -> None:
        self.guard = guard or BrowserGuard()
        self.limiter = limiter
        self.addresses = addresses
        self.login = login
        self.metrics = metrics

    async def admit(self, request: Request, route: Route) -> list[tuple[str, str]]:
        """Resolve the client address and count the request; its ``x-ratelimit-*`` headers.

        Raises:
            PermissionDeniedError: the ``Host`` is not one this server answers.
            UnsupportedMediaTypeError: a JSON body sent without a JSON content type.
            RateLimitedError: the client used up its group's limit.
        """
        self.guard.check(request, route)
        forwarded = [
            value.decode("latin-1")
            for name, value in request.scope.get("headers", ())
            if name.lower() == b"x-forwarded-for"
        ]
        request.client_ip = self.addresses.resolve(request.client_ip, forwarded)
        return await self.limiter.check(route.group, request.client_ip)

    def gate(self, route: Route) -> None:
        """Refuse chat routes while the CLI login is lost.

        Raises:
            UpstreamAuthenticationError: the CLI is not logged in (401).
        """
        if route.group in GATED_GROUPS:
            self.login.check()

    def stream_started(self) -> None:
        """Count a stream as active (until :meth:`finish` with ``streamed=True``)."""
        self.metrics.active_streams.inc()

    def finish(
        self,
        route: Route | None,
        method: str,
        status: int,
        duration_s: float,
        *,
        streamed: bool = False,
    ) -> None:
        """Account the finished request (called for every request, routed or not)."""
        name = route.name if route is not None else "unmatched"
        method = method if method in _METHODS else "other"
        self.metrics.requests.labels(route=name, method=method, status=str(status)).inc()
        self.metrics.request_duration.labels(route=name).observe(duration_s)
        if streamed:
            self.metrics.active_streams.dec()
