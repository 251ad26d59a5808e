"""LLM judges on real parts: a real OpenAI-compatible server (`transformers serve` on loopback,
serving the default model), the real default model for the hf judge, a real pipeline run.

The server reads the dequantized copy of the default model that `load_configured` keeps in the model
cache, so it is up in seconds; replies are capped at a few tokens to keep the file fast. The
135M model is a poor grader: these tests check the plumbing (labels, ranges, provenance, cache,
failures), not the grades' quality.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from mlflow.tracking import MlflowClient

from fusion.config.compose import compose_job, validate
from fusion.config.overrides import check_overrides
from fusion.config.schema import register_schema
from fusion.errors import ConfigError, SetupError
from fusion.evaluate.judges import JudgeUnavailable
from fusion.evaluate.judges.cache import ReplyCache, reply_key
from fusion.evaluate.judges.factory import make_judge
from fusion.evaluate.judges.hf import HFJudgeConfig
from fusion.evaluate.judges.openai import OpenAIJudgeConfig
from fusion.evaluate.judges.rubrics import (
    GRADE_RUBRIC,
    QUALITY_RUBRIC,
    RUBRIC,
    grade_from_replies,
    grade_messages,
    parse_grade,
    parse_quality,
    quality_messages,
)
from fusion.model import loading as models
from fusion.model.loading import LoadedModel, cache_key
from fusion.records import GRADE_LABELS, Grade, GradeRequest
from tests.helpers import model_cache_dir

register_schema()

from tests.helpers import CONF_DIR  # noqa: E402

MAX_TOKENS = 8  # replies this short keep a call to a second or two; "A" or "Score: 4" fits
START_TIMEOUT = 120.0  # seconds for the server to answer /health (about 7 s on a busy 2-core machine)
BATCH = [
    GradeRequest("Who discovered gravity?", "Isaac Newton", "Isaac Newton discovered gravity."),
    GradeRequest("In which year did the Berlin Wall fall?", "1989", "I don't know."),
]


def free_port() -> int:
    """A loopback port nobody listens on (bound and released, so it is closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A `transformers serve` subprocess; restartable, so test order does not matter."""

    model_dir: Path
    log: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model(self) -> str:
        return str(self.model_dir)  # a pinned server accepts exactly its own model name

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, port: int | None = None) -> None:
        self.port = port or free_port()
        command = [
            str(Path(sys.executable).with_name("transformers")),
            "serve",
            str(self.model_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--device",
            "cpu",
        ]
        # one torch thread per request: the judge sends two at once, and two 2-thread forward
        # passes on two cores only fight over them
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        with self.log.open("a") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"transformers serve exited ({self.process.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)
        self.stop()
        pytest.fail(f"transformers serve not healthy after {START_TIMEOUT:g} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.running():
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def model_dir(loaded: LoadedModel, tmp_path_factory) -> Path:
    """The cached default model as a directory `transformers serve` loads: its files linked one by
    one, and a config naming the architecture (caches written before fusion.model.loading did so lack it)."""
    cached = model_cache_dir() / cache_key(loaded.source, "float32")
    assert (cached / "model.safetensors").is_file(), "load_configured (the `loaded` fixture) writes this cache"
    target = tmp_path_factory.mktemp("served-model")
    for path in cached.iterdir():
        if path.name != "config.json":
            (target / path.name).symlink_to(path)
    config = json.loads((cached / "config.json").read_text())
    config["architectures"] = config.get("architectures") or [type(loaded.model).__name__]
    (target / "config.json").write_text(json.dumps(config))
    return target


@pytest.fixture(scope="module")
def server_process(model_dir, tmp_path_factory):
    server = Server(model_dir, tmp_path_factory.mktemp("serve") / "serve.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()  # always, even when a test failed


@pytest.fixture
def server(server_process: Server) -> Server:
    if not server_process.running():  # a test before this one stopped it
        server_process.start()
    return server_process


@pytest.fixture(scope="module")
def judge_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("judge-cache") / "replies.db"


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """In-process inference on one thread: on this 2-core machine, while a long experiment runs,
    two torch threads measured 2-5x slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def openai_cfg(base_url: str, model: str, cache: Path | None, **overrides) -> OpenAIJudgeConfig:
    cfg = {
        "base_url": base_url,
        "model": model,
        "api_key_env": None,
        "max_tokens": MAX_TOKENS,
        "timeout": 60.0,
        "max_retries": 1,
        "backoff": 0.05,
        "concurrency": 2,
        "reply_cache": str(cache) if cache else None,
    }
    return OpenAIJudgeConfig(**{**cfg, **overrides})


def assert_valid(grades: list[Grade], n: int, judge: str) -> None:
    assert len(grades) == n
    for grade in grades:
        assert grade.label in GRADE_LABELS and 1 <= grade.quality <= 5
        assert grade.judge == judge and grade.rubric == RUBRIC == f"{GRADE_RUBRIC}+{QUALITY_RUBRIC}"
        # a verdict, or a fallback that says so (SmolLM2-135M mostly echoes the rubric's legend)
        assert grade.rationale.startswith(("simpleqa:", "quality:", "unparsed:"))


# (e) the parsers, on replies judges really write ------------------------------------------------


@pytest.mark.parametrize(
    "reply, label, parsed",
    [
        ("A", "CORRECT", True),
        ("b", "INCORRECT", True),
        (" **C** ", "NOT_ATTEMPTED", True),
        ("A: CORRECT", "CORRECT", True),
        ("(B)", "INCORRECT", True),
        ("Answer: B.", "INCORRECT", True),
        ("Grade: A\nThe prediction names Newton.", "CORRECT", True),
        ("The predicted answer is INCORRECT because it names Einstein.", "INCORRECT", True),
        ("NOT_ATTEMPTED", "NOT_ATTEMPTED", True),
        ("Correct.", "CORRECT", True),
        ("NOT CORRECT, so B", "INCORRECT", True),  # "NOT CORRECT" is no CORRECT
        ("A predicted answer that says Newton is CORRECT.", "CORRECT", True),  # the article is no grade
        ("The grade is C, since it refuses.", "NOT_ATTEMPTED", True),
        ("A: CORRECT\nB: IN", "NOT_ATTEMPTED", False),  # the legend echoed (SmolLM2-135M's reply)
        ("A: CORRECT\nB: INCORRECT\nC: NOT_ATTEMPTED", "NOT_ATTEMPTED", False),
        ("B: NOT_ATTEMPTED, C: CORRECT", "NOT_ATTEMPTED", False),
        ("B: CORRECT", "NOT_ATTEMPTED", False),  # letter and label disagree
        ("B: INCORRECT", "INCORRECT", True),
        ("I cannot determine this.", "NOT_ATTEMPTED", False),
        ("", "NOT_ATTEMPTED", False),
        (None, "NOT_ATTEMPTED", False),
    ],
)
def test_parse_simpleqa(reply, label, parsed):
    verdict = parse_grade(reply)
    assert (verdict.label, verdict.parsed) == (label, parsed)


@pytest.mark.parametrize(
    "reply, score, parsed",
    [
        ("Score: 4\nHallucination: N\nNotes: Mostly right, no birth year.", 4, True),
        ("**Score:** 5\n**Hallucination:** N", 5, True),
        ("Score (1-5): 2", 2, True),
        ("Hallucination (Y/N): Y\nScore: 1\nNotes: names the wrong person", 1, True),
        ("I would give it a 3/5.", 3, True),
        ("3 out of 5", 3, True),
        ("2", 2, True),
        ("Rating - 2", 2, True),
        ("Score: <1-5>\nHallucination: <Y or N>", 1, False),  # the template echoed back
        ("Score: 10", 1, False),
        ("Score: 4.5", 1, False),
        ("1. Isaac Newton discovered gravity in 1687.", 1, False),
        ("", 1, False),
    ],
)
def test_parse_quality(reply, score, parsed):
    verdict = parse_quality(reply)
    assert (verdict.score, verdict.parsed) == (score, parsed)


def test_unparsed_replies_are_visible_and_never_a_good_grade():
    grade = grade_from_replies("Hmm, hard to say.", "It is quite good", "openai:m@h")
    assert (grade.label, grade.quality) == ("NOT_ATTEMPTED", 1)
    assert grade.rationale.startswith("unparsed: simpleqa reply 'Hmm, hard to say.'")
    assert "unparsed: quality reply 'It is quite good' -> 1 (fallback)" in grade.rationale
    half = grade_from_replies("A", "no score here", "j")
    assert half.label == "CORRECT" and half.quality == 1 and half.rationale.startswith("unparsed: quality")
    good = grade_from_replies("A", "Score: 5\nHallucination: N\nNotes: exact.", "j")
    assert (good.label, good.quality, good.rationale) == (
        "CORRECT",
        5,
        "simpleqa: A (CORRECT); quality: 5; hallucination: N; notes: exact.",
    )


def test_rubric_messages_carry_the_request():
    request = GradeRequest("Q {with braces}?", "Gold {0}", "Answer {x}")
    for messages in (grade_messages(request), quality_messages(request)):
        assert [m["role"] for m in messages] == ["system", "user"]
        assert all(text in messages[1]["content"] for text in ("Q {with braces}?", "Gold {0}", "Answer {x}"))
    assert 'Only return "A", "B" or "C"' in grade_messages(request)[1]["content"]
    assert "Score: <1-5>" in quality_messages(request)[1]["content"]


def test_cache_key_covers_everything_that_decides_a_reply(tmp_path):
    messages = grade_messages(BATCH[0])
    base = ("http://h/v1", "m", GRADE_RUBRIC, 0.0, 8, messages)
    key = reply_key(*base)
    assert reply_key("http://h/v1/", *base[1:]) == key  # a trailing slash is the same endpoint
    for i, other in enumerate(["http://g/v1", "m2", QUALITY_RUBRIC, 0.5, 9, grade_messages(BATCH[1])]):
        assert reply_key(*base[:i], other, *base[i + 1 :]) != key
    cache = ReplyCache(tmp_path / "sub" / "c.db")
    cache.put(key, "A", "m", GRADE_RUBRIC)
    cache.put(key, "B", "m", GRADE_RUBRIC)  # first writer wins
    assert ReplyCache(tmp_path / "sub" / "c.db").get(key) == "A" and len(cache) == 1


# (d) configuration errors: one line naming the key and the fix, before anything loads --------------


@pytest.mark.parametrize(
    "overrides, needle",
    [
        (["judge=gpt"], "judge: no option 'gpt': use one of hf, openai, plugin, rules"),
        (["judge.model=x"], "judge.model: no such key: keys of judge: name"),
        (["judge=openai", "judge.bogus=1"], "judge.bogus: no such key: keys of judge: name, base_url"),
        (["judge=openai", "judge.modle=x"], "judge.modle: no such key: did you mean judge.model?"),
        (["judge=openai", "judge.cache=x"], "judge.cache: renamed to judge.reply_cache"),
    ],
)
def test_unknown_judge_options_and_keys_fail_before_composition(overrides, needle):
    with pytest.raises(ConfigError) as info:
        check_overrides(overrides)
    assert needle in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "overrides, needle",
    [
        (["judge.timeout=0"], "judge.timeout: must be > 0"),
        (["judge.concurrency=0"], "judge.concurrency: must be >= 1"),
        (["judge.max_retries=-1"], "judge.max_retries: must be >= 0"),
        (["judge.base_url=null"], "judge.base_url: missing: set judge.base_url="),
        (["judge.base_url=127.0.0.1:8000"], "judge.base_url: must start with http://"),
        (["judge.model=null"], "judge.model: missing: set judge.model="),
    ],
)
def test_bad_judge_values_fail_with_one_line(overrides, needle):
    cfg = compose_job(["judge=openai", "judge.base_url=http://h/v1", "judge.model=m", *overrides])
    with pytest.raises(ConfigError) as info:
        validate(cfg)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_an_unknown_judge_key_fails_at_composition_too():
    with pytest.raises(ConfigCompositionException, match="modle"):
        compose_job(["judge=openai", "judge.modle=x"])
    with pytest.raises(ConfigError, match="judge.modle: no such key: did you mean judge.model"):
        check_overrides(["judge=openai", "+judge.modle=x"])


def test_a_judge_model_that_is_not_there_fails_with_one_line():
    with pytest.raises(ConfigError, match="no model 'no_such_model' in fusion/conf/model"):
        make_judge(HFJudgeConfig(model="no_such_model"))
    with pytest.raises(ConfigError, match="judge.batch_size: must be >= 1"):
        validate(compose_job(["judge=hf", "judge.batch_size=0"]))


def test_unset_key_variable_fails_at_construction(monkeypatch, tmp_path):
    monkeypatch.delenv("FUSION_TEST_UNSET_KEY", raising=False)
    with pytest.raises(SetupError) as info:
        make_judge(openai_cfg("http://127.0.0.1:9/v1", "m", None, api_key_env="FUSION_TEST_UNSET_KEY"))
    assert str(info.value) == (
        "judge.api_key_env: environment variable FUSION_TEST_UNSET_KEY is unset: export FUSION_TEST_UNSET_KEY=... "
        "(the key is read only from the environment; judge.api_key_env=null for a server without keys)"
    )
    # through the job's preparation: a SetupError before any model is loaded
    from fusion.job.preflight import prepare

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[
                "judge=openai",
                "judge.base_url=http://127.0.0.1:9/v1",
                "judge.model=m",
                "judge.api_key_env=FUSION_TEST_UNSET_KEY",
                f"judge.reply_cache={tmp_path / 'c.db'}",
            ],
        )
    with pytest.raises(SetupError, match="environment variable FUSION_TEST_UNSET_KEY is unset"):
        prepare(validate(cfg))


# (c) an endpoint nobody answers ---------------------------------------------------------------------


def test_unreachable_endpoint_raises_one_line_without_the_key(monkeypatch):
    secret = "sk-fusion-test-0123456789abcdef"
    monkeypatch.setenv("FUSION_TEST_JUDGE_KEY", secret)
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    judge = make_judge(
        openai_cfg(base_url, "m", None, api_key_env="FUSION_TEST_JUDGE_KEY", max_retries=2, backoff=0.01)
    )
    assert secret not in repr(judge) and secret not in judge.name
    start = time.perf_counter()
    with pytest.raises(JudgeUnavailable) as info:
        judge.grade(BATCH)
    message = str(info.value)
    assert time.perf_counter() - start < 10
    assert "\n" not in message and base_url in message and "after 3 attempt(s)" in message
    assert "APIConnectionError" in message and "check judge.base_url" in message
    assert secret not in message and secret not in "".join(traceback.format_exception(info.value))


# (a) grading through a real OpenAI-compatible server --------------------------------------------------


def test_openai_judge_grades_a_batch_through_a_real_server(server, judge_cache):
    judge = make_judge(openai_cfg(server.base_url, server.model, judge_cache))
    assert judge.name == f"openai:{server.model}@127.0.0.1:{server.port}"
    grades = judge.grade(BATCH)
    assert_valid(grades, len(BATCH), judge.name)
    assert len(ReplyCache(judge_cache)) == 2 * len(BATCH)  # both rubrics per answer, stored on arrival


# (f) the hf judge on the default model -------------------------------------------------------------


def test_hf_judge_grades_with_the_default_model():
    loaded_before = dict(models._SHARED)
    judge = make_judge(
        HFJudgeConfig(
            model="smollm2_135m", max_new_tokens=MAX_TOKENS, batch_size=4, weights_cache_dir=str(model_cache_dir())
        )
    )
    assert judge.name == "hf:smollm2_135m"
    assert models._SHARED == loaded_before  # building it loaded nothing
    with one_torch_thread():  # one answer, so two prompts of different lengths: one left-padded batch
        assert_valid(judge.grade(BATCH[:1]), 1, "hf:smollm2_135m")


def test_hf_judge_finds_the_jobs_copy_of_its_model():
    """A job graded by its own model keeps one copy: the judge and the job share it."""
    from fusion.model.loading import shared_model

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        job = validate(compose(config_name="config", overrides=["judge=hf"]))
    judge = make_judge(job.judge)
    assert judge._key == models.shared_key(job.model, job.quantization, job.weights_cache_dir)
    assert judge.loaded() is shared_model(job.model, job.quantization, job.weights_cache_dir)  # as the job loads it


# (g) a real pipeline run graded through the server --------------------------------------------------


def test_a_real_run_records_the_openai_judge(server, tmp_path):
    from fusion.job.pipeline import run_job
    from fusion.tracking.runs import ensure_experiment, read_table

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[
                "steering=baseline",
                "data.limit=1",
                "prompts.max_new_tokens=8",
                f"tracking.uri={uri}",
                "search.study_storage=memory",
                "judge=openai",
                f"judge.base_url={server.base_url}",
                f"judge.model='{server.model}'",
                "judge.api_key_env=null",
                f"judge.max_tokens={MAX_TOKENS}",
                f"judge.reply_cache={tmp_path / 'replies.db'}",
                "judge.max_retries=1",
                "judge.concurrency=2",
            ],
        )
    job = validate(cfg)
    ensure_experiment(uri, job.tracking.experiment, (tmp_path / "artifacts").as_uri())  # artifacts stay in tmp
    with one_torch_thread():
        result = run_job(config=cfg, output_dir=tmp_path / "run")
    client = MlflowClient(tracking_uri=uri)
    name = f"openai:{server.model}@127.0.0.1:{server.port}"
    assert client.get_run(result.run_id).data.tags["fusion.judge"] == name
    (row,) = read_table(client, result.run_id, "prompts.json")
    assert row["judge"] == name and row["rubric"] == RUBRIC
    for prefix in ("", "baseline_", "control_"):
        assert row[f"{prefix}simpleqa"] in GRADE_LABELS and 1 <= row[f"{prefix}quality"] <= 5
    assert 1 <= len(ReplyCache(tmp_path / "replies.db")) <= 6  # 3 answers x 2 rubrics, identical answers once


def test_a_refused_request_is_not_retried(server):
    judge = make_judge(openai_cfg(server.base_url, "not-the-served-model", None, max_retries=3, backoff=2.0))
    start = time.perf_counter()
    with pytest.raises(JudgeUnavailable) as info:
        judge.grade(BATCH[:1])
    assert time.perf_counter() - start < 3  # a retry would have waited >= 1 s first
    message = str(info.value)
    assert "after 1 attempt(s): BadRequestError (HTTP 400: Server is pinned to" in message
    assert "; the endpoint rejected the request: check judge.model" in message and "\n" not in message


# a judge that goes down mid-run: clear stop, finished prompts kept, the rerun resumes; and the key
# never reaches the console, the MLflow store, the artifacts, the Optuna studies or the cache ------

SECRET = "sk-fusion-test-SECRET-7c41e2"


def run_cli(tmp_path: Path, server: Server, limit: int) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "fusion.run",
        "steering=baseline",
        "data=simpleqa",  # by name: the checks read SimpleQA row indices 0, 1
        f"data.limit={limit}",
        "prompts.max_new_tokens=8",
        f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        f"hydra.run.dir={tmp_path / f'run{limit}'}",
        "judge=openai",
        f"judge.base_url={server.base_url}",
        f"judge.model='{server.model}'",
        "judge.api_key_env=FUSION_TEST_JUDGE_KEY",
        f"judge.max_tokens={MAX_TOKENS}",
        "judge.max_retries=1",
        "judge.backoff=0.05",
        f"judge.reply_cache={tmp_path / 'replies.db'}",
    ]
    env = {**os.environ, "FUSION_TEST_JUDGE_KEY": SECRET, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, cwd=CONF_DIR.parent, capture_output=True, text=True, timeout=600, env=env)


def test_judge_down_mid_run_stops_cleanly_keeps_prompts_resumes_and_never_leaks_the_key(server, tmp_path):
    from fusion.tracking.runs import ensure_experiment, read_table

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ensure_experiment(uri, "fusion", (tmp_path / "artifacts").as_uri())  # artifacts stay in tmp, to grep them
    outputs = [run_cli(tmp_path, server, limit=1)]  # grades prompt 0 (cached for the run below)
    assert outputs[0].returncode == 0, outputs[0].stderr[-2000:]

    server.stop()  # prompt 0's gradings come from the cache, prompt 1's cannot be had
    outputs.append(run_cli(tmp_path, server, limit=2))
    assert outputs[1].returncode == 1
    last = outputs[1].stderr.strip().splitlines()[-1]
    assert last.startswith("fusion: judge ") and server.base_url in last
    assert last.endswith("finished prompts are kept: rerun the same command to resume")
    client = MlflowClient(tracking_uri=uri)
    (experiment,) = [e for e in client.search_experiments() if e.name == "fusion"]
    runs = client.search_runs([experiment.experiment_id], "params.`data.limit` = '2'")
    assert [r.info.status for r in runs] == ["FAILED"]
    assert [p["index"] for p in read_table(client, runs[0].info.run_id, "prompts.json")] == [0]

    server.start(port=server.port)  # the same endpoint: the same command, so the same job
    outputs.append(run_cli(tmp_path, server, limit=2))
    assert outputs[2].returncode == 0, outputs[2].stderr[-2000:]
    (run,) = client.search_runs([experiment.experiment_id], "params.`data.limit` = '2'")
    assert run.info.run_id == runs[0].info.run_id and run.info.status == "FINISHED"
    assert run.data.tags["fusion.resumed"] == "true"
    assert [p["index"] for p in read_table(client, run.info.run_id, "prompts.json")] == [0, 1]

    # the key was in every job's environment: it must be nowhere a person or a store can read
    for out in outputs:
        assert SECRET not in out.stdout and SECRET not in out.stderr
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "mlflow.db" for p in files) and any(p.suffix == ".json" for p in files)
    assert any(p.name == "replies.db" for p in files)
    leaked = [str(p) for p in files if SECRET.encode() in p.read_bytes()]
    assert leaked == []
    assert "FUSION_TEST_JUDGE_KEY" in client.get_run(run.info.run_id).data.params["judge.api_key_env"]


# (b) the cache answers without the endpoint; a new grading fails fast once the server is gone --------
# (kept last: it stops the shared server; a later test would restart it)


def test_cached_gradings_need_no_endpoint(server, judge_cache):
    cfg = openai_cfg(server.base_url, server.model, judge_cache)
    first = make_judge(cfg).grade(BATCH)  # from the cache when the test above ran, else from the server
    server.stop()
    judge = make_judge(replace(cfg, max_retries=0))  # any call would now fail at once
    start = time.perf_counter()
    assert judge.grade(BATCH) == first
    assert time.perf_counter() - start < 2
    fresh = replace(BATCH[0], answer="Albert Einstein.")
    start = time.perf_counter()
    with pytest.raises(JudgeUnavailable) as info:
        make_judge(replace(cfg, max_retries=2, backoff=0.05)).grade([fresh])
    assert time.perf_counter() - start < 10
    assert (
        "\n" not in str(info.value) and server.base_url in str(info.value) and "after 3 attempt(s)" in str(info.value)
    )
