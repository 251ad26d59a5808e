"""The ``fusion`` commands, one thin module each: ``fusion NAME`` runs ``fusion.commands.NAME``.

A command module holds its argument parser, its help and the printing; the work is done by the
subpackages below it. Each module exposes ``HELP`` (one line for ``fusion --help``) and
``main(argv) -> int``; a module is found by the scan below, so adding a command adds one file.
Command modules import their heavy dependencies inside ``main`` so that ``--help`` stays instant.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

# the order `fusion --help` lists them in; a command module not named here follows, by name
ORDER = ("run", "study", "report", "grade", "adjudicate", "label", "steer", "studies", "bench", "parity")


def names() -> list[str]:
    """Every command, in the order of ``fusion --help``."""
    import fusion.commands as package

    found = {m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


def load(name: str) -> ModuleType:
    return importlib.import_module(f"fusion.commands.{name}")
