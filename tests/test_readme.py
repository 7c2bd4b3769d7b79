"""The README's commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_readme_starts_with_the_install_and_price_command_then_the_test_command():
    blocks = _bash_blocks((ROOT / "README.md").read_text())
    assert (
        "pip install -e '.[dev]'" in blocks[0] and "abrsim price configs/example.toml" in blocks[0]
    )
    assert "python -m pytest -q" in blocks[1]


def test_ci_runs_the_readme_test_command_in_a_fresh_virtual_environment():
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = _bash_blocks((ROOT / "README.md").read_text())[1].strip().split("&&")[-1].strip()
    assert test_command in ci
    assert "python3 -m venv" in ci and "pip install --quiet -e '.[dev]'" in ci
