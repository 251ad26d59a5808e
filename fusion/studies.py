"""`python -m fusion.studies` moved to `python -m fusion.tracking.studies`; this name keeps working."""

import sys

from fusion.tracking.studies import main

if __name__ == "__main__":
    sys.exit(main())
