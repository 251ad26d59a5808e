"""Where the package's files are, and where a job's store, reports and data go (stdlib only, so the
GPU benchmark, which has no Hydra, can use it too)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CONF_DIR = PACKAGE_DIR / "conf"  # package data: the wheel carries the configs with the code
# A source checkout (make run, the tests) keeps its store, reports and data inside the checkout; an
# installed wheel must not write into site-packages, so there they go to the working directory.
CHECKOUT: Path | None = PACKAGE_DIR.parent if (PACKAGE_DIR.parent / "pyproject.toml").is_file() else None
PROJECT_ROOT = CHECKOUT or Path.cwd()


def has_makefile(checkout: Path | None = CHECKOUT) -> bool:
    """Whether ``make setup``/``make ui`` can be offered: a checkout with its Makefile (an installed
    wheel has neither, so its messages name the pip or mlflow command instead)."""
    return checkout is not None and (checkout / "Makefile").is_file()
