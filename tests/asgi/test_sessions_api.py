"""``/v1/sessions`` in-process: list, stats, get, delete, auth, and errors in OpenAI's shape."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.asgi.driver import Exchange, make_app, quiet_settings, started
from tests.fakes.backend import FakeBackend, text_events
from wrapper.app import App
from wrapper.config import SessionSettings
from wrapper.sessions import SessionManager

pytestmark = pytest.mark.anyio

KEY = "sk-test-sessions"
AUTH = [("authorization", f"Bearer {KEY}")]


def sessions_app(tmp_path: Path) -> App:
    """An app with the default (SQLite) session store under a temp DATA_DIR."""
    settings = quiet_settings(
        api_key=KEY, data_dir=str(tmp_path), sessions=SessionSettings(store_url=None)
    )
    return make_app(FakeBackend(text_events("unused")), settings)[0]


def manager_of(app: App) -> SessionManager:
    assert app.ctx is not None
    return app.ctx.stores.sessions


async def turn(app: App, session_id: str, model: str = "claude-sonnet-4-6") -> None:
    async with manager_of(app).lease(session_id, model=model) as lease:
        await lease.commit(model=model)


async def call(app: App, method: str, path: str, *, auth: bool = True) -> Exchange:
    return await Exchange(method, path, headers=AUTH if auth else ()).run(app)


def parse_time(text: str) -> datetime:
    assert text.endswith("Z")
    return datetime.fromisoformat(text)


async def test_list_get_stats_and_delete(tmp_path: Path) -> None:
    async with started(sessions_app(tmp_path)) as app:
        await turn(app, "alpha")
        await turn(app, "alpha", model="claude-opus-4-7")
        await turn(app, "beta")

        listed = await call(app, "GET", "/v1/sessions")
        assert listed.status == 200
        body = listed.json()
        assert body["object"] == "list"
        assert body["total"] == 2
        assert [s["session_id"] for s in body["sessions"]] == ["alpha", "beta"]

        got = await call(app, "GET", "/v1/sessions/alpha")
        assert got.status == 200
        session = got.json()
        assert session["object"] == "session"
        assert session["session_id"] == "alpha"
        assert session["turn_count"] == 2
        assert session["message_count"] == 4
        assert session["model"] == "claude-opus-4-7"
        assert session["busy"] is False
        created = parse_time(session["created_at"])
        last = parse_time(session["last_accessed"])
        expires = parse_time(session["expires_at"])
        assert created <= last < expires
        assert round((expires - last).total_seconds()) == 3600

        stats = await call(app, "GET", "/v1/sessions/stats")
        assert stats.status == 200
        assert stats.json() == {
            "object": "session.stats",
            "session_stats": {
                "active_sessions": 2,
                "busy_sessions": 0,
                "expired_sessions": 0,
                "total_turns": 3,
            },
            "store": "sqlite",
            "ttl_seconds": 3600,
            "default_ttl_hours": 1.0,
            "cleanup_interval_minutes": 1.0,
        }

        deleted = await call(app, "DELETE", "/v1/sessions/alpha")
        assert deleted.status == 200
        assert deleted.json() == {
            "object": "session.deleted",
            "session_id": "alpha",
            "deleted": True,
            "message": "Session alpha deleted successfully",
        }
        assert (await call(app, "GET", "/v1/sessions/alpha")).status == 404
        assert (await call(app, "GET", "/v1/sessions")).json()["total"] == 1


async def test_unknown_sessions_get_404_in_openai_shape(tmp_path: Path) -> None:
    async with started(sessions_app(tmp_path)) as app:
        for method in ("GET", "DELETE"):
            missing = await call(app, method, "/v1/sessions/nope")
            assert missing.status == 404
            assert missing.json() == {
                "error": {
                    "message": "Session 'nope' not found.",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "session_not_found",
                }
            }


async def test_ids_with_spaces_and_unicode_are_addressable(tmp_path: Path) -> None:
    async with started(sessions_app(tmp_path)) as app:
        await turn(app, "user 7 · chat")
        got = await call(app, "GET", "/v1/sessions/" + "user 7 · chat")
        assert got.status == 200
        assert got.json()["session_id"] == "user 7 · chat"
        assert quote("user 7 · chat")  # clients send it percent-encoded; servers decode it


async def test_a_too_long_id_is_400(tmp_path: Path) -> None:
    async with started(sessions_app(tmp_path)) as app:
        bad = await call(app, "GET", "/v1/sessions/" + "x" * 129)
        assert bad.status == 400
        assert bad.json()["error"]["code"] == "invalid_session_id"
        assert bad.json()["error"]["param"] == "session_id"


async def test_deleting_a_busy_session_is_409(tmp_path: Path) -> None:
    async with started(sessions_app(tmp_path)) as app:
        await turn(app, "busy")
        async with manager_of(app).lease("busy"):
            assert (await call(app, "GET", "/v1/sessions/busy")).json()["busy"] is True
            conflict = await call(app, "DELETE", "/v1/sessions/busy")
            assert conflict.status == 409
            assert conflict.json()["error"]["code"] == "session_busy"
        assert (await call(app, "DELETE", "/v1/sessions/busy")).status == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/sessions"),
        ("GET", "/v1/sessions/stats"),
        ("GET", "/v1/sessions/x"),
        ("DELETE", "/v1/sessions/x"),
    ],
)
async def test_every_sessions_endpoint_needs_the_api_key(
    tmp_path: Path, method: str, path: str
) -> None:
    async with started(sessions_app(tmp_path)) as app:
        refused = await call(app, method, path, auth=False)
        assert refused.status == 401
        assert refused.json()["error"]["type"] == "authentication_error"


async def test_sessions_survive_a_restart_on_the_same_data_dir(tmp_path: Path) -> None:
    async with started(sessions_app(tmp_path)) as app:
        await turn(app, "durable")
    async with started(sessions_app(tmp_path)) as app:
        got = await call(app, "GET", "/v1/sessions/durable")
        assert got.status == 200
        assert got.json()["turn_count"] == 1
