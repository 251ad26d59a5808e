"""`python -m fusion.parity` moved to `python -m fusion.report.parity`; this name keeps working."""

import sys

from fusion.report.parity import main

if __name__ == "__main__":
    sys.exit(main())
