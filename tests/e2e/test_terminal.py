"""The console script as a person meets it: --help, the banner and readable log lines on a
terminal, JSON lines otherwise, and HTTPS with HTTP/2 over ALPN."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import pty
import re
import signal
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.harness import ROOT, clean_env, free_port, read_until, wait_until
from tests.fakes.anthropic_upstream import FakeUpstream

pytestmark = pytest.mark.e2e

COMMAND = [sys.executable, "-m", "wrapper.cli"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _env(upstream: FakeUpstream, home: str, port: int, **extra: str) -> dict[str, str]:
    env = clean_env(
        upstream.url,
        home,
        {
            "PORT": str(port),
            "CLAUDE_WRAPPER_HOST": "127.0.0.1",
            "DATA_DIR": f"{home}/data",
            "API_KEY": "terminal-key",
            **extra,
        },
    )
    if "LOG_FORMAT" not in extra:
        env.pop("LOG_FORMAT")  # the harness asks for JSON; here the default decides
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _up(url: str, **client: object) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1, **client).status_code == 200  # type: ignore[arg-type]
    except httpx.HTTPError:
        return False


class OnTerminal:
    """The console script with stdin, stdout and stderr on one pty."""

    def __init__(self, env: dict[str, str]) -> None:
        self.controller, terminal = pty.openpty()
        self.process = subprocess.Popen(
            COMMAND, cwd=ROOT, env=env, stdin=terminal, stdout=terminal, stderr=terminal
        )
        os.close(terminal)
        self.seen = ""

    def read_until(self, pattern: str) -> str:
        self.seen = read_until(self.controller, pattern, seen=self.seen)
        return self.seen

    def close(self) -> None:
        _stop(self.process)
        os.close(self.controller)


@pytest.fixture
def home() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="wrapper-terminal-") as path:
        yield path


def test_help_lists_the_options() -> None:
    result = subprocess.run(
        [*COMMAND, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    for option in ("--port", "--host", "--worker-class", "--certfile", "--keyfile", "--version"):
        assert option in result.stdout
    assert "API_KEY" in result.stdout
    assert "LOG_FORMAT" in result.stdout


def test_on_a_terminal_a_banner_then_readable_coloured_lines(
    upstream: FakeUpstream, home: str
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    terminal = OnTerminal(_env(upstream, home, port))
    try:
        banner = ANSI.sub("", terminal.read_until(r"readable lines"))
        assert f"Landing page    {url}/" in banner
        assert "Upstream auth   Anthropic API key (api_key, detected)" in banner
        assert "API_KEY         set" in banner
        assert f"Data            {Path(home, 'data').resolve()}" in banner
        assert "terminal-key" not in banner
        assert wait_until(lambda: _up(url), timeout=60)
        httpx.get(f"{url}/v1/models", headers={"authorization": "Bearer terminal-key"})
        seen = terminal.read_until(r"GET /v1/models\S* \S*200")
        assert "\x1b[" in seen
        plain = ANSI.sub("", seen)
        assert re.search(r"\d\d:\d\d:\d\d INFO  GET /v1/models 200 [\d.]+ ms models.list", plain)
        assert '{"' not in plain
    finally:
        terminal.close()


def test_log_format_json_on_a_terminal_prints_only_json_lines(
    upstream: FakeUpstream, home: str
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    terminal = OnTerminal(_env(upstream, home, port, LOG_FORMAT="json"))
    try:
        assert wait_until(lambda: _up(url), timeout=60)
        httpx.get(f"{url}/")
        seen = terminal.read_until(r'"path": "/",')
    finally:
        terminal.close()
    lines = [line for line in seen.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert any(r["event"] == "request.completed" and r["path"] == "/" for r in records)
    assert "Landing page" not in seen


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_serves_http2_over_alpn(upstream: FakeUpstream, home: str) -> None:
    cert, key = _self_signed(Path(home))
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    trust = ssl.create_default_context(cafile=str(cert))
    log = Path(home) / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*COMMAND, "--certfile", str(cert), "--keyfile", str(key)],
            cwd=ROOT,
            env=_env(upstream, home, port, LOG_FORMAT="json"),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_until(lambda: _up(url, verify=trust), timeout=60), log.read_text()
        with httpx.Client(http2=True, verify=trust, timeout=30) as client:
            health = client.get(f"{url}/health")
            assert health.http_version == "HTTP/2"
            page = client.get(f"{url}/")
            assert page.http_version == "HTTP/2"
            assert page.headers["content-type"].startswith("text/html")
            models = client.get(f"{url}/v1/models", headers={"x-api-key": "terminal-key"})
            assert models.status_code == 200
        with httpx.Client(http2=False, verify=trust, timeout=30) as plain:
            assert plain.get(f"{url}/health").http_version == "HTTP/1.1"
    finally:
        _stop(process)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--certfile", "cert.pem"], "--certfile and --keyfile go together"),
        (["--certfile", "missing.pem", "--keyfile", "missing.key"], "no such file"),
    ],
)
def test_bad_tls_options_are_refused_before_starting(
    home: str, arguments: list[str], message: str
) -> None:
    result = subprocess.run(
        [*COMMAND, *arguments],
        cwd=home,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
