"""``fusion studies``: the Optuna study file of a job (for optuna-dashboard)."""

from __future__ import annotations

import sys

HELP = "the Optuna study file of a job (for optuna-dashboard)"


def main(argv: list[str] | None = None) -> int:
    from fusion.tracking.studies import main as run

    return int(run(argv) or 0)


if __name__ == "__main__":
    sys.exit(main())
