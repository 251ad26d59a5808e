"""``fusion studies [STUDY]``: the Optuna study file of a job, for optuna-dashboard (``make studies``).

Prints the storage URL to open (stdout, for the Makefile) and, on stderr, which file that is and how
to pick another; which file is :mod:`fusion.tracking.studies`' choice. Torch-free and quick.
"""

from __future__ import annotations

import argparse
import sys

HELP = "the Optuna study file of a job (for optuna-dashboard)"
DESCRIPTION = (
    "Print the storage URL of a job's Optuna studies for optuna-dashboard (make studies): the newest job's "
    "study file under the tracking store ($MLFLOW_TRACKING_URI, else this project's), or the one named."
)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusion studies", description=DESCRIPTION)
    parser.add_argument("study", nargs="?", default="", help="a study file (.db) or storage URL; default: the newest")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    import os

    from fusion.errors import one_line_errors
    from fusion.tracking.stores import default_tracking_uri, study_folder
    from fusion.tracking.studies import choose

    folder = study_folder(os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri())
    with one_line_errors():
        url, lines = choose(args.study, folder)
    print("\n".join(lines), file=sys.stderr)
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
