"""The landing page in a real browser (headless Chromium) against the real server and CLI.

The server runs with ``API_KEY`` set, in both backend modes; the fake upstream
scripts slow replies so that streaming, reasoning, tool calls and Stop can be
watched as a person would. Screenshots are kept under tests/artifacts/.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page

from tests.e2e.browser import chromium, screenshot
from tests.e2e.harness import ServerProcess, cli_processes, wait_until
from tests.fakes.anthropic_upstream import FakeUpstream, Reply, Text, Thinking, ToolUse

pytestmark = pytest.mark.e2e

KEY = "browser-test-key"
APIS = ["chat", "responses", "messages"]
# Records the answer's text after every change, so a test can see the deltas arrive.
WATCH_ANSWER = """() => {
  window.__seen = [];
  const transcript = document.getElementById("transcript");
  new MutationObserver(() => {
    const answers = transcript.querySelectorAll('[data-testid="answer"]');
    const last = answers[answers.length - 1];
    if (last) window.__seen.push(last.textContent);
  }).observe(transcript, { childList: true, subtree: true, characterData: true });
}"""


def marker() -> str:
    return f"B{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module", params=["pooled", "cold"])
def keyed_server(upstream: FakeUpstream, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    env = {"API_KEY": KEY}
    if request.param == "cold":
        env["POOL_ENABLED"] = "false"
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    with chromium() as context:
        yield context


@pytest.fixture
def page(browser: BrowserContext, keyed_server: ServerProcess) -> Iterator[Page]:
    tab = browser.new_page()
    outside: list[str] = []
    tab.on(
        "request",
        lambda r: None if r.url.startswith((keyed_server.url, "data:")) else outside.append(r.url),
    )
    tab.goto(keyed_server.url + "/")
    yield tab
    tab.close()
    assert not outside, f"the page reached outside this server: {outside}"


def _mode(server: ServerProcess) -> str:
    return "cold" if server.env.get("POOL_ENABLED") == "false" else "pooled"


def _use_key(page: Page, key: str = KEY) -> None:
    page.fill("#api-key", key)
    page.click("#key-form button[type=submit]")


def _send(page: Page, text: str, *, api: str = "chat") -> None:
    page.select_option("#api", api)
    page.fill("#message", text)
    page.click("#send")


def _last_reply(page: Page) -> Locator:
    return page.locator('[data-testid="reply"]').last


def test_the_status_shows_with_the_key(page: Page, keyed_server: ServerProcess) -> None:
    page.wait_for_function("() => document.getElementById('version').textContent.startsWith('v')")
    assert re.match(r"v\d+\.\d+\.\d+ · SDK \S+ · CLI \S+", page.text_content("#version") or "")
    _use_key(page)
    page.wait_for_function("() => document.getElementById('auth').textContent.includes('api_key')")
    auth = page.text_content("#auth") or ""
    assert "client keys" in auth
    pool = page.text_content("#pool") or ""
    assert "turns running" in pool
    assert ("warm processes" in pool) is (_mode(keyed_server) == "pooled")
    assert "state" in (page.text_content("#breaker") or "")
    assert "known" in (page.text_content("#quota") or "")
    page.wait_for_function("() => document.querySelectorAll('#model option').length > 1")
    assert "served" in (page.text_content("#models") or "")
    assert "store" in (page.text_content("#sessions") or "")
    assert page.evaluate("sessionStorage.getItem('claude-wrapper.api-key')") == KEY
    assert page.evaluate("localStorage.length") == 0
    endpoints = page.locator('[data-testid="endpoints"] details')
    assert endpoints.count() >= 20
    chat = page.locator('details[data-path="/v1/chat/completions"]')
    chat.locator("summary").click()
    curl = chat.locator("pre").first.text_content() or ""
    assert curl.startswith(f"curl -N {keyed_server.url}/v1/chat/completions")
    assert "$API_KEY" in curl
    assert KEY not in curl
    assert "from openai import OpenAI" in (chat.locator("pre").nth(1).text_content() or "")
    assert page.is_hidden("#notice")
    screenshot(page, f"landing-status-{_mode(keyed_server)}")


@pytest.mark.parametrize("api", APIS)
def test_a_streamed_reply_arrives_delta_by_delta(
    page: Page, keyed_server: ServerProcess, upstream: FakeUpstream, api: str
) -> None:
    tag = marker()
    words = "one two three four five six seven eight"
    upstream.script(tag, Reply.text(words, delay=0.15))
    _use_key(page)
    page.evaluate(WATCH_ANSWER)
    page.fill("#system", "Answer in words.")
    _send(page, f"count for me {tag}", api=api)
    reply = _last_reply(page)
    reply.wait_for(state="attached")
    page.wait_for_selector('[data-testid="reply"][data-state="done"]', timeout=60_000)
    assert reply.locator('[data-testid="answer"]').text_content() == words
    seen: list[str] = page.evaluate("window.__seen")
    partial = [text for text in dict.fromkeys(seen) if text and text != words]
    # Each word is its own upstream delta, 150 ms apart: the page showed them one by one.
    assert len(partial) >= 5, seen
    assert all(words.startswith(text) for text in partial)
    usage = reply.locator('[data-testid="usage"]').text_content() or ""
    assert re.search(r"usage: \d+ in \+ \d+ out", usage), usage
    assert int(reply.get_attribute("data-deltas") or 0) >= 8
    (recorded,) = upstream.recorded(tag)
    assert "Answer in words." in recorded.system_text()
    screenshot(page, f"landing-stream-{api}-{_mode(keyed_server)}")


@pytest.mark.parametrize("api", APIS)
def test_reasoning_and_tool_calls_are_shown(
    page: Page, keyed_server: ServerProcess, upstream: FakeUpstream, api: str
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply(
            blocks=[
                Thinking("The user wants the weather."),
                Text("Let me look."),
                ToolUse("get_weather", {"city": "Paris"}),
            ]
        ),
    )
    _use_key(page)
    page.check("#tools")
    page.select_option("#thinking", "enabled")
    _send(page, f"weather in Paris? {tag}", api=api)
    page.wait_for_selector('[data-testid="reply"][data-state="done"]', timeout=60_000)
    reply = _last_reply(page)
    assert "The user wants the weather." in (
        reply.locator('[data-testid="reasoning"]').text_content() or ""
    )
    call = reply.locator('[data-testid="tool-call"]').text_content() or ""
    assert "get_weather" in call
    assert '"city"' in call
    assert "Paris" in call
    (recorded,) = upstream.recorded(tag)
    assert any(tool.get("name") == "get_weather" for tool in recorded.body.get("tools", []))
    screenshot(page, f"landing-tools-{api}-{_mode(keyed_server)}")


@pytest.mark.parametrize("api", APIS)
def test_stop_aborts_and_the_server_stops_the_turn(
    page: Page, keyed_server: ServerProcess, upstream: FakeUpstream, api: str
) -> None:
    assert keyed_server.process is not None
    tag = marker()
    upstream.script(tag, Reply.text(" ".join(["word"] * 300), delay=0.1))
    _use_key(page)
    _send(page, f"talk a lot {tag}", api=api)
    page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=\"reply\"]:last-of-type')"
        "?.dataset.deltas || 0) >= 3",
        timeout=60_000,
    )
    assert cli_processes(keyed_server.process.pid)
    assert wait_until(lambda: upstream.answering(tag), timeout=15)
    page.click("#stop")
    page.wait_for_selector('[data-testid="reply"][data-state="stopped"]')
    assert "stopped" in (page.text_content("#turn-state") or "")
    assert page.is_enabled("#send")
    # The server saw the disconnect: the CLI stopped generating and no process is left
    # running for the turn (the pool keeps only its idle, reset processes).
    assert wait_until(lambda: not upstream.answering(tag), timeout=15)
    assert upstream.recorded(tag)[-1].hung_up
    assert wait_until(lambda: _no_turn_process(keyed_server), timeout=15)
    screenshot(page, f"landing-stopped-{api}-{_mode(keyed_server)}")


def _no_turn_process(server: ServerProcess) -> bool:
    assert server.process is not None
    children = set(cli_processes(server.process.pid))
    if _mode(server) == "cold":
        return not children
    status = httpx.get(
        f"{server.url}/v1/pool/status", headers={"authorization": f"Bearer {KEY}"}, timeout=10
    ).json()
    return children <= set(status["pids"]) and status["processes"]["busy"] == 0


def test_no_key_or_a_wrong_key_shows_a_clear_message(
    page: Page, keyed_server: ServerProcess, upstream: FakeUpstream
) -> None:
    page.wait_for_selector("#notice:not([hidden])")
    assert "needs its API key" in (page.text_content("#notice") or "")
    assert "needs the API key" in (page.text_content("#auth") or "")
    _use_key(page, "not-the-key")
    page.wait_for_function(
        "() => document.getElementById('notice').textContent.includes('refused this API key')"
    )
    tag = marker()
    _send(page, f"hello {tag}")
    page.wait_for_selector('[data-testid="reply"][data-state="error"]')
    error = _last_reply(page).locator('[data-testid="reply-error"]').text_content() or ""
    assert "refused this API key (401)" in error
    assert not upstream.recorded(tag)
    screenshot(page, f"landing-wrong-key-{_mode(keyed_server)}")


def test_the_docs_page_renders_every_operation(page: Page, keyed_server: ServerProcess) -> None:
    page.goto(keyed_server.url + "/docs")
    document = httpx.get(keyed_server.url + "/openapi.json", timeout=10).json()
    expected = sum(1 for item in document["paths"].values() for m in item if m != "head")
    page.wait_for_selector("details.operation")
    assert page.locator("details.operation").count() == expected
    chat = page.locator('details[data-operation="chat"]')
    page.click('details[data-operation="chat"] > summary')
    text = chat.text_content() or ""
    assert "ChatCompletionRequest" in text
    assert "[DONE]" in text
    screenshot(page, f"docs-{_mode(keyed_server)}")
