"""Every bad input gets one line: random overrides of every key, through the checks the command line
runs before the model loads (in-process: the same functions ``python -m fusion.run`` calls)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from fusion.config.compose import compose_job, validate
from fusion.config.overrides import check_composition, check_overrides
from fusion.errors import one_line_errors
from fusion.job.preflight import prepare
from tests.helpers import PROJECT_ROOT


def flat_keys(node: object, prefix: str = "") -> list[str]:
    if isinstance(node, dict):
        return [k for key, value in node.items() for k in flat_keys(value, f"{prefix}{key}.")]
    return [prefix.rstrip(".")]


def composed_keys(*overrides: str) -> list[str]:
    return flat_keys(OmegaConf.to_container(compose_job(list(overrides)), resolve=False))


DEFAULT_KEYS = composed_keys()
# the judge options type their own keys: fuzz those under their option
JUDGE_KEYS = {
    option: [k for k in composed_keys(f"judge={option}") if k.startswith("judge.")] for option in ("openai", "hf")
}

# values of the wrong type, out of range, empty, huge, negative, NaN, unicode and shell-special
NASTY = [
    "abc",
    "1.5",
    "-1",
    "0",
    "-0.5",
    "2",
    "1e9",
    "-1e9",
    "nan",
    "inf",
    "-inf",
    "true",
    "false",
    "null",
    "''",
    "",
    "[]",
    "[1,2]",
    "{a:1}",
    "9" * 40,
    "x" * 3000,
    "héllo",
    "名前",
    "😀",
    "'$(rm -rf /)'",
    "'`ls`'",
    "'a;b|c&&d'",
    "'\"q\"'",
    "' '",
    "/proc/nonexistent/path",  # a path nothing can create, not even root: no case leaves files behind
    "sqlite:////proc/fusion.db",
    "http://127.0.0.1:9",
    "cuda:99",
]
VALUES = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=12),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


def command_line_checks(overrides: list[str]) -> None:
    """What ``python -m fusion.run`` does before the model loads, under its one error handler."""
    with one_line_errors():
        check_overrides(overrides)
        check_composition(overrides)
        prepare(validate(compose_job(overrides)))


def outcome(overrides: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """(exit code, stderr lines): 0 when the checks pass."""
    capsys.readouterr()
    try:
        command_line_checks(overrides)
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    return code, capsys.readouterr().err.strip().splitlines()


@st.composite
def overrides(draw: st.DrawFn) -> list[str]:
    judge = draw(st.sampled_from([None, "openai", "hf"]))
    keys = (
        DEFAULT_KEYS if judge is None else [k for k in DEFAULT_KEYS if not k.startswith("judge.")] + JUDGE_KEYS[judge]
    )
    chosen = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2, unique=True))
    base = (
        []
        if judge is None
        else [f"judge={judge}", "judge.base_url=http://127.0.0.1:9/v1", "judge.model=m", "judge.api_key_env=null"]
        * (judge == "openai")
        + [f"judge={judge}"] * (judge == "hf")
    )
    return [*dict.fromkeys(base), *(f"{key}={draw(VALUES)}" for key in chosen)]


# 50 cases in the full suite (CI), 20 in `make test-unit`'s quick loop; FUSION_FUZZ_EXAMPLES=2000 for a long hunt
@settings(
    max_examples=int(os.environ.get("FUSION_FUZZ_EXAMPLES", "50")),
    deadline=None,  # wall clock depends on the machine's load: the CPU-time bound below holds the goal
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=overrides())
def test_every_key_passes_or_fails_in_one_fusion_line(case, capsys, tmp_path_factory, monkeypatch):
    monkeypatch.chdir(tmp_path_factory.mktemp("fuzz"))  # relative paths a case names land here
    start, cpu = time.monotonic(), time.process_time()
    code, lines = outcome(case, capsys)
    # no heavy work (a model load is tens of CPU seconds) and no hang (a judge's server that never
    # answers); CPU time, not wall, so that a loaded machine (two studies beside CI) does not fail it
    assert time.process_time() - cpu < 10, f"{case} took {time.process_time() - cpu:.1f} s of CPU"
    assert time.monotonic() - start < 60, f"{case} took {time.monotonic() - start:.1f} s"
    if code:
        assert code == 2, (case, lines)
        assert len(lines) == 1 and lines[0].startswith("fusion: "), (case, lines)


def test_the_fuzzer_covers_every_key_that_cfg_job_prints():
    printed = subprocess.run(
        [sys.executable, "-m", "fusion.run", "--cfg", "job"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert sorted(flat_keys(yaml.safe_load(printed))) == sorted(DEFAULT_KEYS)
    for option, keys in JUDGE_KEYS.items():
        assert keys and all(k.startswith("judge.") for k in keys), option


# cases the fuzzer found (each printed a traceback or Hydra's multi-line error before)
@pytest.mark.parametrize(
    "case, message",
    [
        (["search.n_trials=abc"], "search.n_trials=abc: Value 'abc' of type 'str' could not be converted to Integer"),
        (["search.batch_size=1.5"], "search.batch_size=1.5: Value '1.5' of type 'float' could not be converted"),
        (["seed=1e400"], "seed=1e400: Value 'inf'"),
        (["prompts.max_new_tokens="], "prompts.max_new_tokens=: Value '' of type 'str' could not be converted"),
        (["steering.boundaries=[a,b]"], "steering.boundaries=[a,b]: Value 'a'"),
        (
            ["judge=openai", "judge.timeout=fast"],
            "judge.timeout=fast: Value 'fast' of type 'str' could not be converted to Float",
        ),
        (["data.offset=99999"], "data.offset=99999 is past the end of the selection"),
        (["search.alpha.low=nan"], "search.alpha: needs finite 0 <= low <= high"),
        (["eval.accuracy_threshold=1.5"], "eval.accuracy_threshold: must be in [0, 1]"),
        (["tracking.check_timeout=0"], "tracking.check_timeout: must be in (0, 600] seconds"),
        (["steering=full,sideways"], "steering: no option 'sideways'"),
        (["search.n_trials=(1"], "search.n_trials=(1"),
        # a file that exists but is no CSV (the fuzzer met an SQLite file an earlier case had made)
        ([f"data.path={PROJECT_ROOT / 'docs' / 'screenshots' / 'run.png'}"], "run.png is not a SimpleQA CSV"),
        # a CSV whose rows have an empty field; a tracking URI whose scheme MLflow serves no store for
        (
            ["data=simpleqa", f"data.path={PROJECT_ROOT / 'tests' / 'data' / 'blank_answer.csv'}"],
            "1 row(s) with an empty problem or answer (first: data row 1)",
        ),
        (["tracking.uri=ftp://host/store"], "MLflow serves no 'ftp' store"),
        (["tracking.uri=s3://bucket/mlflow"], "MLflow serves no 's3' store"),
    ],
)
def test_found_cases_fail_in_one_line(case, message, capsys):
    code, lines = outcome(case, capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("fusion: ") and message in lines[0], lines


def test_a_finite_number_is_never_taken_for_nan():
    assert not math.isnan(float("1e300"))  # guards the range checks' use of math.isfinite
