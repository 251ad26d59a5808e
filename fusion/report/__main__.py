"""``python -m fusion.report``: the same as ``fusion report`` (its parser lives with the command)."""

import sys

from fusion.commands.report import main

sys.exit(main())
