"""Add up the figures of crash runs: ``python -m tests.crash.figures REPORT.jsonl``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.crash.harness import totals


def main(argv: list[str]) -> int:
    sys.stdout.write(json.dumps(totals(Path(argv[1])), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
