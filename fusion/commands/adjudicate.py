"""``fusion adjudicate``: export the judge's strict positives that no person has labelled, blind, for hand labels."""

from __future__ import annotations

import sys

HELP = "export the judge's strict positives that no person has labelled, blind, for hand labels"


def main(argv: list[str] | None = None) -> int:
    from fusion.report.adjudication import main as run

    return int(run(argv) or 0)


if __name__ == "__main__":
    sys.exit(main())
