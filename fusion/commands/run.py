"""``fusion run``: one Fusion Steering job, or a sweep with ``-m`` (Hydra overrides)."""

from __future__ import annotations

import sys

HELP = "one Fusion Steering job, or a sweep with -m (Hydra overrides, e.g. steering=segmented)"


def main(argv: list[str] | None = None) -> int:
    from fusion.run import cli

    sys.argv = ["fusion run", *(sys.argv[1:] if argv is None else argv)]  # Hydra reads sys.argv itself
    cli()
    return 0


if __name__ == "__main__":
    sys.exit(main())
