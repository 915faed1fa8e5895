"""The README's promises: its test command is what CI runs, its diagram is the table."""

import re
from pathlib import Path

from refundry.domain.status import mermaid_diagram

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def readme_block(marker: str) -> str:
    match = re.search(
        rf"<!-- {marker}:start -->\n```\w+\n(.*?)```\n<!-- {marker}:end -->", README, re.S
    )
    assert match, f"README has no {marker} block"
    return match.group(1)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    # given the README's second command
    commands = re.findall(r"```bash\n(python3 -m venv .*?)\n```", README)
    assert len(commands) == 2, "README shows one run command and one test command"
    test_command = commands[1]
    assert "pytest" in test_command
    # then .ci/run calls it verbatim
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_readme_state_diagram_is_the_transition_table() -> None:
    assert readme_block("state-diagram").strip() == mermaid_diagram().strip()
