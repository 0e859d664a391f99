"""docs/compatibility.md and the field table behind POST /v1/compatibility agree."""

from __future__ import annotations

import re
from pathlib import Path

from wrapper.schemas.openai_chat import ChatCompletionRequest
from wrapper.translate.openai_chat.fields import FIELDS, HEADERS

DOC = Path(__file__).resolve().parents[4] / "docs" / "compatibility.md"
_ROW = re.compile(r"^\| `(?P<name>[A-Za-z_-]+)` \| (?P<fate>[a-z]+)(?: \(in progress\))? \|")


def _rows(heading: str) -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        match = _ROW.match(line)
        if match:
            rows[match["name"]] = match["fate"]
    return rows


def test_every_request_field_has_a_row_with_its_fate() -> None:
    documented = _rows("Request fields")
    assert documented == {name: fate.fate for name, fate in FIELDS.items()}


def test_every_field_the_server_decodes_has_a_fate() -> None:
    assert set(ChatCompletionRequest.__struct_fields__) == set(FIELDS)


def test_every_claude_header_has_a_row_with_its_fate() -> None:
    documented = {name.lower(): fate for name, fate in _rows("Claude headers").items()}
    assert documented == {name: fate.fate for name, fate in HEADERS.items()}
