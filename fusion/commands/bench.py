"""``fusion bench``: speed benchmarks (CPU pipeline; --random-weights ARCH --device cuda)."""

from __future__ import annotations

import sys

HELP = "speed benchmarks (CPU pipeline; --random-weights ARCH --device cuda)"


def main(argv: list[str] | None = None) -> int:
    from fusion.bench.cli import main as run

    run(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
