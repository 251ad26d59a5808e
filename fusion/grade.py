"""``python -m fusion.grade``: the same as ``fusion grade`` (:mod:`fusion.commands.grade`; the
grading is :mod:`fusion.evaluate.grade_file`)."""

from __future__ import annotations

import sys

from fusion.commands.grade import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
