"""The report over real runs: shards merged into one result, seeds and budgets of the replication."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from fusion.evaluate.scoring import summarize
from fusion.report.stats import paired_bootstrap_ci
from tests.helpers import PROJECT_ROOT, SUMMARY, run_fusion, runs_of


def run_report(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m fusion.report`` on the store in ``tmp_path``, without logging the report."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "fusion.report",
            "--tracking-uri",
            f"sqlite:///{tmp_path / 'mlflow.db'}",
            "--out",
            str(tmp_path / "report"),
            "--no-log",
            *args,
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def report(tmp_path, *args: str, experiment: str = "fusion") -> dict:
    result = run_report(tmp_path, "--experiment", experiment, "--json", *args)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_two_shards_merge_into_the_numbers_of_one_unsharded_job(tmp_path):
    run_fusion(tmp_path, "steering=baseline", "data.limit=3", "data.num_shards=2", "data.shard=0,1", multirun=True)
    _, shards = runs_of(tmp_path)
    assert sorted(r.data.params["data.shard"] for r in shards) == ["0", "1"]
    assert sorted(int(r.data.metrics["n_prompts"]) for r in shards) == [1, 2]
    (sweep_id,) = {r.data.tags["fusion.sweep_id"] for r in shards}
    merged = report(tmp_path, "--sweep-id", sweep_id)["baseline"]
    assert merged["n_prompts"] == 3 and len(merged["replicates"]) == 1 and merged["replicates"][0]["shards"] == 2

    whole = tmp_path / "whole"
    whole.mkdir()
    run_fusion(whole, "steering=baseline", "data.limit=3")
    _, (single,) = runs_of(whole)
    for key in SUMMARY + ["composite_median", "composite_std"]:
        assert merged[key] == pytest.approx(single.data.metrics[key], abs=5e-5), key  # logged to 4 places


def test_replication_groups_budgets_averages_seeds_and_writes_report_md(tmp_path):
    run_fusion(
        tmp_path,
        "+experiment=paper_replication",
        "steering=full",
        "data.limit=1",
        "search.seed=0,1",
        "search.n_trials=1,2",
        multirun=True,
    )
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("paper_replication")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 4
    numbers = report(
        tmp_path,
        "--replication",
        "--command",
        "make replication",
        "--wall-seconds",
        "60",
        experiment="paper_replication",
    )
    assert list(numbers) == ["full@1", "full@2"]
    for label, budget in (("full@1", "1"), ("full@2", "2")):
        mine = [r for r in runs if r.data.params["search.n_trials"] == budget]
        assert sorted(r["seed"] for r in numbers[label]["replicates"]) == [0, 1]
        for key in ("accuracy", "composite_mean", "simpleqa_correct", "control_composite_mean"):
            assert numbers[label][key] == pytest.approx(
                statistics.fmean(r.data.metrics[key] for r in mine), abs=5e-5
            ), key
        assert numbers[label]["n_prompts"] == 1
        # SimpleQA's metrics: no hand labels, so the judge's grades as the runs logged them
        simpleqa = numbers[label]["simpleqa_metrics"]
        assert simpleqa["correct"] == pytest.approx(numbers[label]["simpleqa_correct"])
        assert simpleqa["attempted"] == pytest.approx(1 - numbers[label]["simpleqa_not_attempted"])
    text = (tmp_path / "report" / "REPORT.md").read_text()
    assert "## SimpleQA's metrics" in text and "correct given attempted | F1 |" in text
    assert "`make replication`" in text and "oracle results" in text and "Wall time: 1.0 min" in text
    assert "| full@2 | 2 | 2 | 1 |" in text and "Judge: rules" in text
    assert "Prompts: the first 1 of the paper's 260" in text


def log_run(
    uri: str,
    mode: str,
    composites: dict[int, float],
    *,
    seed: int = 0,
    target: str = "reference",
    exact: bool = False,
    fixed: bool = False,
) -> None:
    """A finished job run as the pipeline logs it (tags, params, ``prompts.json``, summary
    metrics), with composites chosen by hand, so the report's statistics can be checked by hand."""
    rows = [
        {
            "index": i,
            "question": f"Question {i}?",
            "gold": "Paris",
            "answer": "The answer is Paris." if c >= 0.6 else "It is London.",
            "baseline_answer": "It is London.",
            "control_answer": "It is London.",
            "composite": c,
            "overlap": c,
            "simpleqa": "CORRECT" if c >= 0.6 else "INCORRECT",
            "baseline_composite": 0.1,
            "baseline_overlap": 0.1,
            "baseline_simpleqa": "INCORRECT",
            "control_composite": 0.1,
            "control_overlap": 0.1,
            "control_simpleqa": "INCORRECT",
            "strengths": [0.5],
            "objective": 0.7 * c,
        }
        for i, c in composites.items()
    ]
    metrics: dict[str, float] = {"n_prompts": len(rows), "wall_seconds": 1.0}
    for prefix in ("", "baseline_", "control_"):
        part = summarize(
            [r[f"{prefix}composite"] for r in rows],
            [r[f"{prefix}overlap"] for r in rows],
            [r[f"{prefix}simpleqa"] for r in rows],
            0.6,
        )
        metrics.update({f"{prefix}{k}": v for k, v in part.items()})
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("fusion")
    tags = {
        "fusion.mode": mode,
        "fusion.steering_exact": str(exact).lower(),
        "fusion.segments": "0-29",
        "fusion.sweep_id": "hand",
        "fusion.judge": "rules",
    }
    if fixed:
        tags["fusion.fixed_strengths"] = "[0.5]"
    if target != "reference" or exact:  # old runs lack the target tag: absent must mean the reference
        tags["fusion.steering_target"] = target
    with mlflow.start_run(tags=tags):
        mlflow.log_params(
            {
                "steering.mode": mode,
                "search.seed": seed,
                "search.n_trials": 5,
                "steering.cache": not exact,
                "steering.target": target,
                "eval.accuracy_threshold": 0.6,
                "data.name": "paper260",
                **({"search.strengths_from": "an-earlier-run"} if fixed else {}),
            }
        )
        columns = list(rows[0])
        mlflow.log_dict({"columns": columns, "data": [[r[c] for c in columns] for r in rows]}, "prompts.json")
        mlflow.log_metrics(metrics)


def test_paired_statistics_of_logged_runs_match_a_hand_computation(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # a baseline job logged with exact decoding (as a sweep that sets it for every job logs it): it steers nothing
    log_run(uri, "baseline", {0: 0.1, 1: 0.7, 2: 0.2, 3: 0.3, 4: 0.65}, exact=True)
    log_run(uri, "full", {0: 0.8, 1: 0.7, 2: 0.1, 3: 0.9, 4: 0.2}, seed=0)
    log_run(uri, "full", {0: 0.7, 1: 0.1, 2: 0.1, 3: 0.2, 4: 0.3}, seed=1)
    log_run(uri, "segmented", {0: 0.9, 1: 0.9, 2: 0.9, 3: 0.65}, seed=0)  # prompt 4 missing: compared on 4
    log_run(uri, "full", {i: 0.1 for i in range(5)}, target="shuffled")
    log_run(uri, "full", {0: 0.8, 1: 0.7, 2: 0.1, 3: 0.9, 4: 0.2}, exact=True)
    numbers = report(tmp_path, "--replication", "--resamples", "400", "--bootstrap-seed", "5")
    assert list(numbers) == ["baseline", "full", "full[shuffled]", "full[exact]", "segmented", "paired"]
    assert numbers["full"]["accuracy"] == pytest.approx((0.6 + 0.2) / 2)  # the table still averages seeds
    pairs = {(p["a"], p["b"]): p for p in numbers["paired"]}
    assert list(pairs) == [
        ("segmented", "full"),
        ("full", "baseline"),
        ("full[shuffled]", "baseline"),
        ("full[exact]", "baseline"),
        ("segmented", "baseline"),
        ("full", "full[shuffled]"),
        ("segmented", "full[shuffled]"),  # no segmented placebo ran: the one placebo stands in
        ("full", "full[exact]"),
    ]

    # full (seed means: accuracy 1, .5, 0, .5, 0; composite .75, .4, .1, .55, .25) - baseline
    # (accuracy 0, 1, 0, 0, 1): accuracy d = 1, -.5, 0, .5, -1 -> 2 prompts each way, p = 1
    full = pairs[("full", "baseline")]
    assert (full["n_prompts"], full["b_count"], full["c_count"], full["mcnemar_p"]) == (5, 2, 2, 1.0)
    assert full["accuracy_diff"] == pytest.approx(0.0, abs=1e-9)
    assert full["composite_diff"] == pytest.approx((0.65 - 0.3 - 0.1 + 0.25 - 0.4) / 5)
    assert (full["ci_low"], full["ci_high"]) == pytest.approx(
        paired_bootstrap_ci([0.75, 0.4, 0.1, 0.55, 0.25], [0.1, 0.7, 0.2, 0.3, 0.65], resamples=400, seed=5)[1:]
    )
    assert (full["both_accurate"], full["both_inaccurate"], full["only_a"], full["only_b"]) == pytest.approx(
        (0.5 / 5, 1.5 / 5, 1.5 / 5, 1.5 / 5)
    )
    assert (full["resamples"], full["seed"], full["seeds_a"], full["seeds_b"]) == (400, 5, 2, 1)

    # segmented (all accurate, composite .9 .9 .9 .65) - full on the 4 shared prompts: accurate
    # more often on 3 prompts, never less; composite d = .15 .5 .8 .1, all > 0. The exact test
    # relabels runs within a prompt (1 segmented run, 2 full): prompts 1 and 3 give T = .5 (p 2/3)
    # or -1, prompt 2 gives 1 (p 1/3) or -.5, prompt 0 nothing; observed T = 2, and |T| >= 2 only
    # for (.5, 1, .5) or (-1, -.5, -1): p = 4/27 + 2/27 = 2/9
    seg = pairs[("segmented", "full")]
    assert (seg["n_prompts"], seg["b_count"], seg["c_count"]) == (4, 3, 0)
    assert seg["mcnemar_p"] == pytest.approx(2 / 9)
    assert seg["accuracy_diff"] == pytest.approx(100 * (0 + 0.5 + 1 + 0.5) / 4)
    assert seg["composite_diff"] == pytest.approx((0.15 + 0.5 + 0.8 + 0.1) / 4)
    assert seg["ci_low"] >= 0.1 - 1e-9 and seg["evidence"] == "evidence of a difference (composite CI excludes 0)"

    # exact (seed 0's composites again) vs cached seeds 0 and 1: cached is less often accurate on
    # prompts 1 and 3 (seed 1 misses them), never more; composite d = -.05 -.3 0 -.35 .05. Each of
    # those prompts gives T = 1 (p 1/3) or -.5 under relabelling; observed T = -1, and
    # P(|T| >= 1) = P(2) + P(-1) = 1/9 + 4/9 = 5/9
    same = pairs[("full", "full[exact]")]
    assert (same["b_count"], same["c_count"]) == (0, 2) and same["mcnemar_p"] == pytest.approx(5 / 9)
    assert same["composite_diff"] == pytest.approx((-0.05 - 0.3 - 0.35 + 0.05) / 5)
    shuffled = pairs[("full", "full[shuffled]")]  # as segmented - full above, mirrored: p = 2/9
    assert (shuffled["b_count"], shuffled["c_count"]) == (3, 0) and shuffled["mcnemar_p"] == pytest.approx(2 / 9)

    text = (tmp_path / "report" / "REPORT.md").read_text()
    assert "## Paired statistics" in text
    assert "- Steering: cached and exact (the paper's), in separate runs" in text
    assert "Per-question agreement" in text
    assert "| full - baseline | 5 | 10.0 % | 30.0 % | 30.0 % | 30.0 % |" in text
    # here every CORRECT answer is fluent, so the strict metric equals the paper's accuracy
    assert (seg["strict_diff"], seg["strict_b_count"], seg["strict_c_count"]) == (seg["accuracy_diff"], 3, 0)
    assert seg["strict_mcnemar_p"] == pytest.approx(2 / 9) and seg["strict_evidence"] == "no evidence of a difference"
    # the paper's ordering is judged on the plain groups only, not on the shuffled or exact ones
    assert (
        "- 5 trials: correct & fluent baseline 40.0 %, full 40.0 %, segmented 100.0 %: segmented > full > "
        "baseline **did not hold**; the paper's accuracy baseline 40.0 %, full 40.0 %, segmented 100.0 %" in text
    )
    # each step of the ordering as its paired tests, with the intervals and the p-values
    seg_low, seg_high = (f"{v:+.1f}" for v in (seg["accuracy_ci_low"], seg["accuracy_ci_high"]))
    holm = f"{seg['strict_p_holm']:.3f}"  # the strict p-value adjusted over the report's strict comparisons
    step = (
        f"  - segmented - full: correct & fluent +50.0 points [{seg_low}, {seg_high}], exact p = 0.222 "
        f"(Holm {holm}): no evidence"
    )
    assert step in text and seg["strict_p_holm"] >= seg["strict_mcnemar_p"]
    assert f"paper's accuracy +50.0 points [{seg_low}, {seg_high}], exact p = 0.222, composite " in text
    assert "  - full - baseline: correct & fluent +0.0 points [" in text and "exact p = 1.000" in text
    assert "held in the point estimates only" not in text  # segmented > full > baseline did not hold here
    # the verdicts: one paragraph per question, each comparison that answers it
    verdicts = text.split("## Verdicts")[1].split("## Did segmented")[0]
    assert "**Does steering beat the unsteered baseline?**" in verdicts and "**Does segmented beat full?**" in verdicts
    assert "- full - full[shuffled]: correct & fluent +" in verdicts
    assert "**Does the fluent objective beat the paper's?**" not in verdicts  # one objective only
    limits = text.split("## What these numbers do not say")[1].split("## Per seed")[0]
    assert "- The rules judge grades by matching the gold answer" in limits
    assert "Groups ran on 4 and 5 questions" in limits and "One search seed" not in limits  # full has 2 seeds
    assert "## Paired statistics" in (tmp_path / "report" / "REPORT.md").read_text()
    assert not (tmp_path / "report" / "report.md").exists()  # one report file name per folder


def test_a_baseline_run_does_not_make_a_cached_study_read_as_mixed(tmp_path):
    """A baseline job logged with exact decoding, though it steers nothing: the report's
    steering line follows the steered runs only."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log_run(uri, "baseline", {0: 0.1, 1: 0.7}, exact=True)
    log_run(uri, "full", {0: 0.8, 1: 0.7})
    report(tmp_path, "--replication", "--resamples", "100")
    text = (tmp_path / "report" / "REPORT.md").read_text()
    assert "- Steering: cached (KV cache, running means: not the paper's exact mode)" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--experiment", "nowhere"], "fusion: no experiment 'nowhere' in this store: pass --experiment"),
        (["--sweep-id", "multirun/none"], "fusion: no finished runs match: check --sweep-id"),
    ],
)
def test_a_report_of_nothing_fails_in_one_line(tmp_path, args, message):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("fusion")  # an empty store with the default experiment
    result = run_report(tmp_path, *args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and result.stderr.startswith(message)


def test_the_reference_as_a_prompt_is_a_group_that_steering_is_paired_with(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log_run(uri, "baseline", {0: 0.1, 1: 0.1, 2: 0.2})
    log_run(uri, "full", {0: 0.8, 1: 0.7, 2: 0.1})
    log_run(uri, "in_context", {0: 0.9, 1: 0.1, 2: 0.1})
    numbers = report(tmp_path, "--replication", "--resamples", "100")
    assert list(numbers) == ["baseline", "full", "in_context", "paired", "recovery"]
    assert numbers["in_context"]["n_trials"] == 0 and numbers["in_context"]["objective"] is None
    # the steered group's gain over the baseline as a share of the prompt's
    (recovered,) = numbers["recovery"]
    assert (recovered["group"], recovered["prompted"], recovered["baseline"]) == ("full", "in_context", "baseline")
    pairs = {(p["a"], p["b"]) for p in numbers["paired"]}
    assert {("full", "baseline"), ("in_context", "baseline"), ("full", "in_context")} <= pairs
    text = (tmp_path / "report" / "REPORT.md").read_text()
    assert "Does steering beat giving the model the same reference text in its prompt?" in text
    assert "Does the reference as a prompt beat the unsteered baseline?" in text
    assert "How much of the reference-in-prompt gain does steering recover?" in text


def test_fixed_strengths_are_a_group_paired_with_the_search_on_the_same_questions(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log_run(uri, "full", {0: 0.8, 1: 0.7, 2: 0.1})
    log_run(uri, "full", {0: 0.1, 1: 0.7, 2: 0.1}, fixed=True)
    numbers = report(tmp_path, "--replication", "--resamples", "100")
    assert list(numbers) == ["full", "full[fixed-median]", "paired"]
    assert numbers["full[fixed-median]"]["fixed"] == "fixed-median"
    assert numbers["full[fixed-median]"]["objective"] is None
    assert [(p["a"], p["b"]) for p in numbers["paired"]] == [("full", "full[fixed-median]")]
    text = (tmp_path / "report" / "REPORT.md").read_text()
    assert "Does the per-question search beat strengths fixed in advance (chosen on other questions)?" in text


def test_the_committed_replication_report_rebuilds_byte_for_byte(tmp_path):
    """REPORT.md is generated from the committed answers (regraded, cut, adjudicated by the hand
    labels): the rebuild script reproduces it, and its answers file, exactly."""
    folder = PROJECT_ROOT / "experiments" / "paper_replication"
    result = subprocess.run(
        ["bash", str(folder / "rebuild.sh"), str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PY": sys.executable},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "REPORT.md").read_text() == (folder / "REPORT.md").read_text()
    assert (tmp_path / "answers.jsonl.gz").read_bytes() == (folder / "answers.jsonl.gz").read_bytes()


def test_a_report_that_joins_two_studies_lists_each_command_with_its_wall_time(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    log_run(f"sqlite:///{first / 'mlflow.db'}", "baseline", {0: 0.1, 1: 0.1, 2: 0.2})
    log_run(f"sqlite:///{second / 'mlflow.db'}", "full", {0: 0.8, 1: 0.7, 2: 0.1})
    for store in (first, second):  # each study's answers file, as its own report writes it
        assert run_report(store, "--experiment", "fusion", "--replication").returncode == 0
    answers = [str(store / "report" / "answers.jsonl.gz") for store in (first, second)]
    joined = ["--answers", *answers, "--replication", "--resamples", "100"]
    commands = ["--command", "study a", "--wall-seconds", "120", "--command", "study b", "--wall-seconds", "60"]
    assert run_report(tmp_path, *joined, *commands).returncode == 0
    text = (tmp_path / "report" / "REPORT.md").read_text()
    assert "  - `study a` (2.0 min)\n  - `study b` (1.0 min)" in text
    assert "- Wall time: 3.0 min (the sum over its commands)" in text
    result = run_report(tmp_path, *joined, *commands[:-2], "--command", "study b")
    assert (
        result.returncode == 2
        and result.stderr.strip() == "fusion: --wall-seconds: give one per --command, in the same order"
    )


def test_the_report_run_is_named_after_what_it_reports(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log_run(uri, "baseline", {0: 0.1, 1: 0.7})
    log_run(uri, "full", {0: 0.8, 1: 0.7})
    client = MlflowClient(tracking_uri=uri)
    (experiment,) = [e for e in client.search_experiments() if e.name == "fusion"]
    full = next(r for r in client.search_runs([experiment.experiment_id]) if r.data.tags["fusion.mode"] == "full")
    for args, name in (
        (["--run-ids", full.info.run_id], f"report-runs-{full.info.run_id[:8]}"),
        (["--sweep-id", "hand"], "report-hand"),
        ([], "report-fusion"),
    ):
        command = [sys.executable, "-m", "fusion.report", "--tracking-uri", uri, "--resamples", "100", *args]
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)  # no --out
        assert result.returncode == 0, result.stderr[-2000:]
        reports = client.search_runs([experiment.experiment_id], "tags.`fusion.kind` = 'report'")
        assert reports[0].info.run_name == name
    assert (tmp_path / "reports" / "latest" / "report.md").exists()  # under the folder it ran from
