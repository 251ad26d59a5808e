"""``fusion report``: the paper-style report of finished runs, or of an answers file."""

from __future__ import annotations

import sys

HELP = "the paper-style report of finished runs, or of an answers file"


def main(argv: list[str] | None = None) -> int:
    from fusion.report.build import main as run

    return int(run(argv) or 0)


if __name__ == "__main__":
    sys.exit(main())
