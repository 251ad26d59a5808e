"""Finding a plug-in by its import path (stdlib only, below every subpackage).

Steering methods, references, question sets and judges from outside the package are named the
same way, ``module:NAME`` (``module.NAME`` is accepted too), and found the same way: the module
in the current folder first, then anything installed.
"""

from __future__ import annotations

import importlib
import os
import sys

from fusion.errors import ConfigError

PLUGIN_FORM = "module:NAME"  # the one spelling messages and docs use


def import_here(module: str) -> object:
    """Import ``module``, the current folder first on the path for this look-up: ``fusion run`` (a
    console script) has its own folder there, where ``python -m`` has the current one."""
    here = os.getcwd()
    added = here not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        return importlib.import_module(module)
    finally:
        if added:
            sys.path.remove(here)


def import_object(path: str, key: str, what: str) -> object:
    """The object at ``path`` (``module:NAME`` or ``module.NAME``); one line naming ``key`` (the
    config key that gave it) and ``what`` it should be where it cannot be imported."""
    module, sep, attr = path.partition(":")
    if not sep:
        module, _, attr = path.rpartition(".")
    try:
        return getattr(import_here(module), attr)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(
            f"{key}={path}: cannot import it ({type(error).__name__}: {error}): give {PLUGIN_FORM} "
            f"of {what}, the module in the current folder or installed"
        ) from None
