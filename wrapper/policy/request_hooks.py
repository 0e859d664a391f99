"""The four points where the app hands a request to the operations layer.

1. :meth:`RequestHooks.admit`, right after route resolution (before auth and
   before the body is read): find the client's address (trusted proxies),
   start the request's record, and apply its endpoint group's rate limit.
2. :meth:`RequestHooks.gate`, after auth: refuse chat routes while the CLI
   login is known to be lost.
3. :meth:`RequestHooks.decorate`, when the handler returned: the cost header
   on complete responses; count a stream as active.
4. :meth:`RequestHooks.finish`, when the request is over (always): request and
   latency metrics, and the end of an active stream.
"""

from __future__ import annotations

from wrapper.http.request import Request
from wrapper.http.responses import JSONResponse, Response
from wrapper.http.routing import Route
from wrapper.monitoring.metrics import Metrics
from wrapper.policy.client_address import ClientAddressResolver
from wrapper.policy.ratelimit import RateLimiter
from wrapper.policy.request_record import current_record, start_record
from wrapper.upstream.login import CliLoginHealth

COST_HEADER = "x-claude-cost-usd"
MODEL_HEADER = "x-claude-model"
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
    ) -> None:
        self.limiter = limiter
        self.addresses = addresses
        self.login = login
        self.metrics = metrics

    async def admit(self, request: Request, route: Route) -> list[tuple[str, str]]:
        """Resolve the client address and count the request; its ``x-ratelimit-*`` headers.

        Raises:
            RateLimitedError: the client used up its group's limit.
        """
        forwarded = [
            value.decode("latin-1")
            for name, value in request.scope.get("headers", ())
            if name.lower() == b"x-forwarded-for"
        ]
        request.client_ip = self.addresses.resolve(request.client_ip, forwarded)
        start_record()
        return await self.limiter.check(route.group, request.client_ip)

    def gate(self, route: Route) -> None:
        """Refuse chat routes while the CLI login is lost.

        Raises:
            UpstreamAuthenticationError: the CLI is not logged in (401).
        """
        if route.group in GATED_GROUPS:
            self.login.check()

    def decorate(self, response: Response) -> None:
        """Add what the turns of this request learned to its response."""
        record = current_record()
        if record is None:
            return
        if isinstance(response, JSONResponse):
            if record.cost_usd is not None:
                response.headers.append((COST_HEADER, f"{record.cost_usd:.6f}"))
            if record.model is not None:  # the model that answered (a fallback model, say)
                response.headers.append((MODEL_HEADER, record.model))
        else:
            record.streaming = True
            self.metrics.active_streams.inc()

    def finish(self, route: Route | None, method: str, status: int, duration_s: float) -> None:
        """Account the finished request (called for every request, routed or not)."""
        name = route.name if route is not None else "unmatched"
        method = method if method in _METHODS else "other"
        self.metrics.requests.labels(route=name, method=method, status=str(status)).inc()
        self.metrics.request_duration.labels(route=name).observe(duration_s)
        record = current_record()
        if record is not None and record.streaming:
            record.streaming = False
            self.metrics.active_streams.dec()
