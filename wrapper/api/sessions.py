"""``/v1/sessions``: list, stats, read and delete client sessions (behind ``API_KEY``)."""

from __future__ import annotations

from datetime import UTC, datetime

from wrapper.api.context import AppContext
from wrapper.http.request import Caller, Request
from wrapper.http.responses import Response, json_response
from wrapper.policy.ownership import own_session, scoped_session
from wrapper.schemas.sessions import (
    SessionCounts,
    SessionDeleted,
    SessionList,
    SessionObject,
    SessionStatsObject,
)
from wrapper.sessions import SessionManager, SessionRecord


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def session_object(record: SessionRecord, session_id: str | None = None) -> SessionObject:
    return SessionObject(
        session_id=record.session_id if session_id is None else session_id,
        created_at=_iso(record.created_at),
        last_accessed=_iso(record.last_active),
        expires_at=_iso(record.expires_at),
        turn_count=record.turn_count,
        message_count=2 * record.turn_count,
        model=record.model,
        busy=record.leased,
    )


class SessionsAPI:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @property
    def manager(self) -> SessionManager:
        return self.ctx.stores.sessions

    async def _owned(self, caller: Caller) -> list[tuple[SessionRecord, str]]:
        """The live sessions ``caller`` may see, each with the id it knows it by."""
        return [
            (record, known)
            for record in await self.manager.list_sessions()
            if (known := own_session(caller, record.session_id)) is not None
        ]

    async def list(self, request: Request) -> Response:
        owned = [
            session_object(record, known) for record, known in await self._owned(request.caller)
        ]
        return json_response(SessionList(sessions=owned, total=len(owned)))

    async def _counts(self, caller: Caller) -> SessionCounts:
        if not caller.scoped:
            stats = await self.manager.stats()
            return SessionCounts(
                active_sessions=stats.active_sessions,
                busy_sessions=stats.busy_sessions,
                expired_sessions=stats.expired_sessions,
                total_turns=stats.total_turns,
            )
        # A named key counts only its own live sessions: other keys' figures are not its
        # business, and expired ones are no longer anyone's.
        owned = [record for record, _ in await self._owned(caller)]
        return SessionCounts(
            active_sessions=len(owned),
            busy_sessions=sum(record.leased for record in owned),
            expired_sessions=0,
            total_turns=sum(record.turn_count for record in owned),
        )

    async def stats(self, request: Request) -> Response:
        manager = self.manager
        interval = manager.sweep_interval_s
        return json_response(
            SessionStatsObject(
                session_stats=await self._counts(request.caller),
                store=manager.kind,
                ttl_seconds=round(manager.ttl_s),
                default_ttl_hours=round(manager.ttl_s / 3600, 3),
                cleanup_interval_minutes=None if interval is None else interval / 60,
            )
        )

    async def get(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        record = await self.manager.get(scoped_session(request.caller, session_id))
        return json_response(session_object(record, session_id))

    async def delete(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        record = await self.manager.delete(scoped_session(request.caller, session_id))
        # Its private workspace and tools config override go with it.
        await self.ctx.agent.workspaces.remove_session(record.session_id)
        await self.ctx.agent.mode.configs.forget(record.session_id)
        return json_response(
            SessionDeleted(
                session_id=session_id,
                message=f"Session {session_id} deleted successfully",
            )
        )
