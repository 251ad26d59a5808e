"""Every ``fusion`` command answers ``--help`` at once, with a whole description and a help text
for each option (an option without one, or a description cut mid-sentence, is a help page that
does not say what the command does)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from fusion import commands
from tests.helpers import PROJECT_ROOT

HEAVY = ("torch", "transformers", "mlflow", "optuna", "hydra", "pandas")
ARGPARSE = [name for name in commands.names() if name != "run"]  # run's help is Hydra's


def parser_of(name: str, monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    """The parser a command builds, caught where it parses ``--help``."""
    seen: list[argparse.ArgumentParser] = []

    def caught(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        seen.append(self)
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", caught)
    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", caught)
    with pytest.raises(SystemExit):
        commands.load(name).main(["--help"])
    assert seen, f"fusion {name} parsed no arguments"
    return seen[0]


@pytest.mark.parametrize("name", ARGPARSE)
def test_every_option_has_a_help_text_and_the_description_is_whole(name, monkeypatch):
    parser = parser_of(name, monkeypatch)
    assert parser.prog == f"fusion {name}"
    description = (parser.description or "").strip()
    assert description, f"fusion {name} has no description"
    # a whole sentence: it ends as a sentence does and closes what it opens
    assert description[-1] in ".!?)", f"fusion {name}: the description ends mid-sentence: ...{description[-60:]!r}"
    assert description.count("(") == description.count(")") and description.count("`") % 2 == 0, description
    bare = [a.dest for a in parser._actions if not (a.help or "").strip() and a.help != argparse.SUPPRESS]
    assert not bare, f"fusion {name}: options without a help text: {bare}"


@pytest.mark.parametrize("name", (commands.names()))
def test_help_exits_0_without_the_heavy_imports(name):
    code = (
        "import sys\nfrom fusion.cli import main\n"
        f"try:\n    main([{name!r}, '--help'])\nexcept SystemExit as e:\n    assert e.code in (None, 0), e.code\n"
        f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    if name == "run":  # Hydra's help: Hydra itself is the one heavy import it needs
        code = code.replace("'hydra', ", "")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"fusion {name}" in result.stdout or name == "run" and "usage: fusion run" in result.stdout
    assert result.stdout.rstrip().endswith("HEAVY []"), result.stdout[-500:]
