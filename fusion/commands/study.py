"""``fusion study``: the controlled comparison in one command: baseline, in_context, full, segmented, single_layer, mean_diff, placebo."""

from __future__ import annotations

import sys

HELP = (
    "the controlled comparison in one command: baseline, in_context, full, segmented, single_layer, mean_diff, placebo"
)


def main(argv: list[str] | None = None) -> int:
    from fusion.study import main as run

    return int(run(argv) or 0)


if __name__ == "__main__":
    sys.exit(main())
