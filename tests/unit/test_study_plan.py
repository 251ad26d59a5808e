"""``fusion study`` plans its jobs and prints its estimate before anything heavy runs."""

from __future__ import annotations

import pytest

from fusion.commands.study import main
from fusion.errors import ConfigError
from fusion.job.study import GROUPS, JOB_OVERHEAD, SECONDS_PER_QUESTION, default_groups, estimate, plan


def test_searched_groups_run_once_per_seed_and_exact_decoding_only_where_a_layer_moves_toward_a_mean():
    jobs = plan(default_groups([]), [0, 1], 4, ["data.limit=10"])
    labels = [job.label for job in jobs]
    assert labels[:2] == ["baseline", "in_context"]  # unsteered first: later jobs reuse their answers
    assert labels.count("full s0") == labels.count("full s1") == labels.count("placebo s1") == 1
    # mean_diff adds a vector (exact and cached are one computation); the placebo is not repeated
    assert [label for label in labels if label.endswith("exact")] == [
        "full exact",
        "segmented exact",
        "single_layer exact",
    ]
    exact = next(job for job in jobs if job.label == "full exact")
    assert exact.overrides[-1] == "data.limit=4" and exact.questions(10) == 4
    # the exact subset never reaches past the study's own questions
    assert plan(["full"], [0], 40, ["data.limit=10"])[-1].overrides[-1] == "data.limit=10"
    # 2 unsteered + 5 searched groups x 2 seeds, at the default rates, plus 3 exact jobs on 4 questions
    rate = SECONDS_PER_QUESTION
    assert estimate(jobs, 10, rate) == pytest.approx(
        15 * JOB_OVERHEAD + 2 * 10 * rate["unsteered"] + 10 * 10 * rate["searched"] + 3 * 4 * rate["exact"]
    )


def test_an_unknown_group_is_named_before_anything_runs():
    with pytest.raises(ConfigError, match="--groups: no group steerless: use some of baseline, in_context"):
        plan(["baseline", "steerless"], [0], 0, [])


def test_the_dry_run_prints_the_plan_and_says_whose_rates_the_estimate_uses(capsys):
    assert main(["data.limit=3", "--groups", "baseline,full", "--seeds", "0,1", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(
        "fusion study study: 3 jobs on 3 questions; about 2 min on a 2-core CPU (the default model's rates)"
    )
    assert "  full s1: steering=full search.seed=1 data.limit=3\n" in printed
    assert main(["model=gemma3_270m", "data.limit=3", "--groups", "baseline", "--dry-run"]) == 0
    assert "(the default model's rates; the first jobs time this model's)" in capsys.readouterr().out


def test_the_groups_come_from_the_method_specs_in_the_order_of_the_committed_studies():
    # derived from fusion.methods' specs; the committed experiments ran exactly these
    assert GROUPS == {
        "baseline": ["steering=baseline"],
        "in_context": ["steering=in_context"],
        "full": ["steering=full"],
        "segmented": ["steering=segmented"],
        "single_layer": ["steering=single_layer"],
        "mean_diff": ["steering=mean_diff"],
        "placebo": ["steering=full", "steering.target=shuffled"],
        "oracle": ["steering=full"],  # + reference=gold_explanation after the study's overrides
    }


def test_a_study_toward_a_passage_gets_the_oracle_reference_as_its_ceiling_and_only_then():
    assert "oracle" not in default_groups([]) and "oracle" not in default_groups(["reference=gold_explanation"])
    assert default_groups(["reference=passage"])[-1] == "oracle"
    jobs = plan(["full", "oracle"], [0], 0, ["data=halueval", "reference=passage"])
    oracle = next(job for job in jobs if job.label == "oracle s0")
    # the oracle's reference comes last, so it wins over the study's own
    assert oracle.overrides == ["steering=full", "search.seed=0", "data=halueval", "reference=passage",
                                "reference=gold_explanation"]  # fmt: skip
    with pytest.raises(ConfigError, match="--groups oracle: the study's reference already reads the gold"):
        plan(["oracle"], [0], 0, [])


def test_a_job_whose_method_lacks_questions_fails_before_the_first_job_runs(capsys):
    # mean_diff builds each question's vector from the other cross-fitting fold: 2 questions cannot
    # fill both, found by the study's preflight (it used to surface when that job ran, after the others)
    with pytest.raises(SystemExit) as stop:
        main(["data.limit=2", "--groups", "baseline,mean_diff", "--dry-run"])
    assert stop.value.code == 2
    assert "steering=mean_diff needs questions in both cross-fitting folds" in capsys.readouterr().err
    assert main(["data.limit=6", "--groups", "baseline,mean_diff", "--dry-run"]) == 0
