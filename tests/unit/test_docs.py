"""The documentation stands on its own: every link in the README and docs/ resolves inside the
repository (a clone without anything beside it has no dead links)."""

from __future__ import annotations

import re

import pytest

from tests.helpers import PROJECT_ROOT

PAGES = [
    PROJECT_ROOT / "README.md",
    PROJECT_ROOT / "CHANGELOG.md",
    *sorted((PROJECT_ROOT / "docs").glob("*.md")),
    *sorted((PROJECT_ROOT / "experiments").glob("*/README.md")),
]
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_relative_link_resolves_inside_the_repository(page):
    text = page.read_text()
    assert "../shared" not in text, "a path outside the repository"
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(PROJECT_ROOT), f"{page.name}: {target} points outside the repository"
        assert path.exists(), f"{page.name}: {target} does not exist"


def test_the_readme_starts_with_the_two_commands():
    lines = (PROJECT_ROOT / "README.md").read_text().splitlines()
    assert lines[3].startswith("make run") and lines[4].startswith("make test")
