"""``fusion steer``: replay a run's steering vectors on one question."""

from __future__ import annotations

import sys

HELP = "replay a run's steering vectors on one question"


def main(argv: list[str] | None = None) -> int:
    from fusion.steer import main as run

    return int(run(argv) or 0)


if __name__ == "__main__":
    sys.exit(main())
