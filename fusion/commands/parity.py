"""``fusion parity``: our scoring and judge against the paper's published files."""

from __future__ import annotations

import sys

HELP = "our scoring and judge against the paper's published files"


def main(argv: list[str] | None = None) -> int:
    from fusion.parity import main as run

    return int(run(argv) or 0)


if __name__ == "__main__":
    sys.exit(main())
