"""``fusion grade``: grade answers made elsewhere (JSONL: question, gold, answer) with the judge."""

from __future__ import annotations

import sys

HELP = "grade answers made elsewhere (JSONL: question, gold, answer) with the judge"


def main(argv: list[str] | None = None) -> int:
    from fusion.grade import main as run

    return int(run(argv) or 0)


if __name__ == "__main__":
    sys.exit(main())
