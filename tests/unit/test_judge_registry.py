"""Judges as plug-ins: fusion's own found by name, one from outside the package by import path,
graded through the registry by ``fusion grade`` and ``judge_from``; bad plug-ins in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fusion.config.compose import compose_job, validate
from fusion.config.judges import JudgeSpec, builtin, builtin_names, judge_schemas
from fusion.errors import ConfigError
from fusion.evaluate.judges.factory import judge_from, make_judge
from fusion.paths import CONF_DIR
from tests.helpers import PROJECT_ROOT

# a judge of one's own: one module, outside fusion; it grades CORRECT when the answer holds `word`
PLUGIN_MODULE = """
from dataclasses import dataclass

from fusion.config.judges import JudgeSpec
from fusion.errors import ConfigError
from fusion.records import Grade


@dataclass
class WordJudgeConfig:
    word: str = "yes"
    quality: int = 5


class WordJudge:
    def __init__(self, settings):
        self.settings = settings
        self.name = f"word:{settings.word}"

    def grade(self, requests):
        word, quality = self.settings.word.lower(), self.settings.quality
        return [
            Grade("CORRECT", quality, self.name, "word-v1", "holds the word")
            if word in r.answer.lower()
            else Grade("INCORRECT", 1, self.name, "word-v1", "no word")
            for r in requests
        ]


def check(settings):
    if not 1 <= settings.quality <= 5:
        raise ConfigError(f"judge.options.quality: must be in 1..5 (got {settings.quality})")


JUDGE = JudgeSpec(name="word", summary="the answer holds a word", schema=WordJudgeConfig, build=WordJudge, check=check)
NOT_A_JUDGE = object()
"""


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch) -> Path:
    (tmp_path / "wordjudge.py").write_text(PLUGIN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_fusions_own_judges_are_one_module_and_one_config_file_each():
    assert builtin_names() == ["hf", "openai", "rules"]
    for name in builtin_names():
        spec = builtin(name)
        assert isinstance(spec, JudgeSpec) and spec.name == name
        assert f"- {name}_schema" in (CONF_DIR / "judge" / f"{name}.yaml").read_text()
        assert judge_schemas()[name] is spec.schema
    assert make_judge(None).name == "rules"


def test_a_plugin_judge_is_built_from_its_import_path_and_typed_options(plugin_dir):
    judge = judge_from(["judge=plugin", "judge.plugin=wordjudge:JUDGE", "+judge.options.word=Sugeno"])
    assert judge.name == "word:Sugeno"
    job = validate(compose_job(["judge=plugin", "judge.plugin=wordjudge.JUDGE", "+judge.options.quality=4"]))
    assert make_judge(job.judge).name == "word:yes"


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["judge=plugin"], "judge.plugin: missing: set judge.plugin=package.module:NAME"),
        (["judge=plugin", "judge.plugin=nowhere:JUDGE"], "judge.plugin=nowhere:JUDGE: cannot import it"),
        (["judge=plugin", "judge.plugin=wordjudge:NOT_A_JUDGE"], "is not a judge: give it a JudgeSpec"),
        (["judge=plugin", "judge.plugin=no_such_entry"], "no entry point of that name in the group fusion.judges"),
        (["judge=plugin", "judge.plugin=wordjudge:JUDGE", "+judge.options.wrod=x"], "judge.options: Key 'wrod' not in"),
        (["judge=plugin", "judge.plugin=wordjudge:JUDGE", "+judge.options.quality=abc"], "judge.options: Value 'abc'"),
        (["judge=plugin", "judge.plugin=wordjudge:JUDGE", "+judge.options.quality=9"], "judge.options.quality: must"),
    ],
)
def test_a_bad_plugin_fails_in_one_line(plugin_dir, overrides, message):
    with pytest.raises(ConfigError) as raised:
        judge_from(overrides)
    assert str(raised.value).startswith("config error: ") and message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_fusion_grade_grades_with_a_judge_from_outside_the_package(plugin_dir):
    rows = [
        {"question": "Who?", "gold": "Michio Sugeno", "answer": "It was Sugeno."},
        {"question": "Who?", "gold": "Michio Sugeno", "answer": "It was Zadeh."},
    ]
    source = plugin_dir / "answers.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(plugin_dir)])}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fusion",
            "grade",
            str(source),
            "judge=plugin",
            "judge.plugin=wordjudge:JUDGE",
            "+judge.options.word=sugeno",
        ],
        cwd=plugin_dir,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    graded = [json.loads(line) for line in result.stdout.splitlines()]
    assert [g["simpleqa"] for g in graded] == ["CORRECT", "INCORRECT"]
    assert {g["judge"] for g in graded} == {"word:sugeno"} and {g["rubric"] for g in graded} == {"word-v1"}
    assert "judge word:sugeno, rubric word-v1" in result.stderr
