"""``fusion report`` and ``fusion adjudicate`` as commands: help without the heavy imports, a help
text for every option, bad input in one line before anything is read."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fusion.commands import adjudicate, report
from tests.helpers import PROJECT_ROOT


@pytest.mark.parametrize("command", [report, adjudicate])
def test_every_option_says_what_it_does(command):
    options = [a for a in command.parser()._actions if a.option_strings]
    assert options and all(a.help for a in options), [a.option_strings for a in options if not a.help]


@pytest.mark.parametrize("name", ["report", "adjudicate"])
def test_help_loads_neither_mlflow_nor_the_report(name):
    code = (
        f"import sys\nfrom fusion.commands.{name} import parser\nparser().format_help()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('mlflow', 'matplotlib', 'torch', 'fusion.report'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_a_wall_time_per_command_is_checked_before_anything_is_read(tmp_path, capsys):
    argv = ["--answers", str(tmp_path / "none.jsonl.gz"), "--command", "a", "--command", "b", "--wall-seconds", "1"]
    with pytest.raises(SystemExit) as exit_info:
        report.main([*argv, "--out", str(tmp_path / "r")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == "fusion: --wall-seconds: give one per --command, in the same order\n"
    assert not (tmp_path / "r").exists()
