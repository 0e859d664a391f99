"""Claude API failures by status: the API's message passes on, without addresses."""

from __future__ import annotations

from wrapper.upstream.status import error_for_upstream_status, without_addresses


def test_addresses_never_reach_a_client() -> None:
    text = (
        "upstream connect error at 10.1.2.3:4000 via http://gateway.internal:8080/v1 "
        "(also [::1]:99, localhost:8000, gw.corp.example:443) at 10:30 on claude-sonnet-4-6"
    )
    assert without_addresses(text) == (
        "upstream connect error at [upstream] via [upstream] "
        "(also [upstream], [upstream], [upstream]) at 10:30 on claude-sonnet-4-6"
    )
    error = error_for_upstream_status(400, text)
    assert "10.1.2.3" not in error.message and "gateway.internal" not in error.message
