"""The system prompt reaches the CLI as a private file that lives only while it starts."""

from __future__ import annotations

import stat
from pathlib import Path

from claude_agent_sdk import ClaudeAgentOptions

from wrapper.backend.prompt_file import system_prompt_file


def test_a_prompt_is_a_private_file_while_open_and_gone_after(tmp_path: Path) -> None:
    prompt = "rules\x00with a nul and \u00e9\n" * 10_000
    options = ClaudeAgentOptions(system_prompt=prompt, env={"CLAUDE_CONFIG_DIR": str(tmp_path)})
    with system_prompt_file(options):
        spec = options.system_prompt
        assert isinstance(spec, dict) and spec["type"] == "file"
        path = Path(spec["path"])
        assert path.parent == tmp_path
        assert path.read_text(encoding="utf-8") == prompt
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.exists()
    assert options.system_prompt == prompt


def test_an_empty_prompt_stays_a_flag() -> None:
    options = ClaudeAgentOptions(system_prompt="")
    with system_prompt_file(options):
        assert options.system_prompt == ""
