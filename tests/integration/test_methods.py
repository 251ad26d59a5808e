"""Steering methods as plug-ins on the real default model: single_layer in one sweep with the
paper's methods, and a method defined only in this test run as a job and reported, with no edit to
the package."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from safetensors.torch import load_file

from fusion.commands.report import main as report
from fusion.methods import LayerGroupMethod, MethodSpec
from fusion.tracking.traces import KIND_TAG
from tests.helpers import run_fusion, runs_of

TRIALS = ("data.limit=2", "search.n_trials=2", "search.batch_size=2")


class EveryOtherLayer(LayerGroupMethod):
    """A toy method: the question's reference delta on the even layers only, one (alpha, gamma)."""

    spec = MethodSpec(
        name="every_other",
        summary="the reference delta on every second layer",
        role="steered",
        searched=True,
        reference=True,
        compare_with=("full",),
    )

    def layer_weights(
        self, strengths: Sequence[float], params: Mapping[str, float], groups: Sequence[range], num_layers: int
    ) -> list[float]:
        return [float(strengths[0]) if layer % 2 == 0 else 0.0 for layer in range(num_layers)]


TOY = EveryOtherLayer()


def _report(tmp_path, *args: str) -> dict:
    out = tmp_path / "report"
    code = report(["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--out", str(out), "--no-log", *args])
    assert code == 0
    return json.loads((out / "report.json").read_text())


def test_baseline_full_segmented_single_layer_and_in_context_run_as_one_sweep_and_report_side_by_side(tmp_path):
    run_fusion(tmp_path, "steering=baseline,full,segmented,single_layer,in_context", *TRIALS, multirun=True)
    client, runs = runs_of(tmp_path)
    by_mode = {run.data.tags["fusion.mode"]: run for run in runs}
    assert sorted(by_mode) == ["baseline", "full", "in_context", "segmented", "single_layer"]
    # in_context: the reference in the prompt, nothing steered, nothing searched
    assert by_mode["in_context"].info.run_name == "in_context-smollm2_135m"
    in_context = by_mode["in_context"].info.run_id
    assert not client.list_artifacts(in_context, "vectors")  # nothing steered, nothing saved
    (given,) = (tmp_path / "sweep").glob("*in_context/prompts.jsonl")
    first = json.loads(given.read_text().splitlines()[0])
    assert first["n_trials"] == 0 and first["explanation"]
    traces = client.search_traces(locations=[by_mode["in_context"].info.experiment_id], run_id=in_context)
    steered = [t for t in traces if t.info.tags.get(KIND_TAG) == "steered"]
    assert len(steered) == 2 and all("Reference:" in t.data.request for t in steered)  # the prompt it was given
    single = by_mode["single_layer"]
    assert json.loads(single.data.tags["fusion.method"])["extra_params"] == ["layer"]
    (records,) = (tmp_path / "sweep").glob("*single_layer*/prompts.jsonl")
    rows = [json.loads(line) for line in records.read_text().splitlines()]
    for row in rows:  # the search chose a layer per question, and steered that layer only
        layer = int(row["params"]["layer"])
        assert 0 <= layer < 30 and row["n_trials"] == 2
        strengths = load_file(str(records.parent / f"vectors/prompt-{row['index']}.safetensors"))["strengths"]
        assert [i for i, s in enumerate(strengths.tolist()) if s] == [layer]
        assert (
            strengths[layer].item() == float(row["strengths"][0]) or abs(strengths[layer] - row["strengths"][0]) < 1e-6
        )
    numbers = _report(tmp_path)
    assert {"baseline", "full", "segmented", "single_layer"} <= set(numbers)
    assert numbers["single_layer"]["role"] == "steered"
    compared = {(c["a"], c["b"]) for c in numbers["paired"]}
    assert {("single_layer", "full"), ("single_layer", "segmented"), ("segmented", "full")} <= compared
    assert {("single_layer", "baseline"), ("full", "baseline"), ("segmented", "baseline")} <= compared


def test_a_method_defined_only_in_this_test_runs_as_a_job_and_is_reported(tmp_path):
    run_fusion(tmp_path, "steering.mode=every_other", "steering.plugin=tests.integration.test_methods.TOY", *TRIALS)
    records = tmp_path / "run" / "prompts.jsonl"
    for row in (json.loads(line) for line in records.read_text().splitlines()):
        strengths = load_file(str(records.parent / f"vectors/prompt-{row['index']}.safetensors"))["strengths"]
        assert all(s == 0 for s in strengths[1::2].tolist()) and all(s > 0 for s in strengths[0::2].tolist())
    run_fusion(tmp_path, "steering=full", *TRIALS, f"hydra.run.dir={tmp_path / 'run-full'}")
    client, runs = runs_of(tmp_path)
    toy = next(r for r in runs if r.data.tags["fusion.mode"] == "every_other")
    assert MethodSpec.from_tag(toy.data.tags["fusion.method"]) == TOY.spec
    assert toy.info.run_name.startswith("every_other-cached-fluent-s0")
    # the report reads the method from the run: grouped, compared with full (its declared
    # comparison), and its layer profile drawn by its own mapping
    numbers = _report(tmp_path, "--replication")
    assert numbers["every_other"]["role"] == "steered"
    assert ("every_other", "full") in {(c["a"], c["b"]) for c in numbers["paired"]}
    assert "**Does every_other beat full?**" in (tmp_path / "report" / "REPORT.md").read_text()


def test_mean_diff_never_reads_the_test_questions_gold_and_its_vector_is_reproducible(loaded):
    """The global vector that steers a question is built from the other cross-fitting fold only:
    its own gold and reference never enter it (a question whose gold is replaced gets the same
    vector), and the vector is the mean of (reference - own answer) over that fold, the same
    when rebuilt."""
    import dataclasses

    import torch

    from fusion.config.schema import JobConfig, PromptsConfig, SearchConfig, SteeringConfig
    from fusion.data.simpleqa import load_simpleqa
    from fusion.job.answering import Answerer
    from fusion.job.targets import JobTargets
    from fusion.methods.mean_diff import METHOD, fold_of

    job = JobConfig(
        steering=SteeringConfig(mode="mean_diff"),
        search=SearchConfig(study_storage="memory"),
        prompts=PromptsConfig(chat_template=True, max_new_tokens=8),
    )
    questions = load_simpleqa()[:6]

    def source_for(qs):
        """The job's target source on ``qs``, recording whose references and answers it reads."""
        answerer = Answerer(job, loaded)
        read: list[int] = []
        references, answers = answerer.references, answerer.answer_means
        answerer.references = lambda ps, texts=None: read.extend(p.index for p in ps) or references(ps, texts)  # type: ignore[method-assign]
        answerer.answer_means = lambda ps: read.extend(p.index for p in ps) or answers(ps)  # type: ignore[method-assign]
        return JobTargets(answerer, list(qs), job.seed), read

    folds = {q.index: fold_of(q.index, job.seed) for q in questions}
    assert set(folds.values()) == {0, 1}
    source, read = source_for(questions)
    test = questions[0]
    ((explanation, vector),) = METHOD.targets(source, [test], [test])
    assert explanation == "" and test.index not in read  # not its reference, not its answer
    assert {folds[i] for i in read} == {1 - folds[test.index]}
    train = [q for q in questions if folds[q.index] != folds[test.index]]
    refs = [m for _, m in source.references(train)]
    own = source.answer_means(train)
    expected = sum(r - a for r, a in zip(refs, own) if a is not None) / sum(a is not None for a in own)
    assert torch.allclose(vector, expected)
    # the test question's gold replaced: the vector that steers it does not move
    changed = [q if q.index != test.index else dataclasses.replace(q, gold="SENTINEL") for q in questions]
    other_source, _ = source_for(changed)
    ((_, again),) = METHOD.targets(other_source, [changed[0]], [changed[0]])
    assert torch.equal(again, vector)


def test_the_study_command_runs_all_seven_groups_and_writes_the_report(tmp_path, capsys):
    """``fusion study`` on 5 questions, end to end on the real default model: the plan and its
    time estimate first, every group, then REPORT.md with all seven groups and the verdicts; the
    same command again reads every job back instead of running it."""
    from fusion.commands.study import main as study

    overrides = [
        "data.limit=5",
        "search.n_trials=2",
        "search.batch_size=2",
        "prompts.max_new_tokens=16",
        f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
    ]
    out = tmp_path / "report"
    assert study([*overrides, "--name", "t", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("fusion study t: 7 jobs on 5 questions; about ")
    assert "[7/7] placebo s0 done in" in printed
    text = (out / "REPORT.md").read_text()
    for group in ("baseline", "in_context", "full", "segmented", "single_layer", "mean_diff", "full[shuffled]"):
        assert f"\n| {group} |" in text, group
    for question in ("Does single_layer beat full?", "Does single_layer beat segmented?", "Does mean_diff beat full?"):
        assert f"**{question}**" in text
    assert "Holm" in text and (out / "answers.jsonl.gz").is_file()
    # resumed: every job is finished in the study's sweep, so none runs again, and the report says
    # its wall time is this invocation's
    assert study([*overrides, "--name", "t", "--out", str(out)]) == 0
    assert "(resumed: 7 of 7 jobs were read back from an earlier attempt)" in (out / "REPORT.md").read_text()
    client, runs = runs_of(tmp_path)
    assert len(runs) == 7 and {r.data.tags["fusion.sweep_id"] for r in runs} == {"study/t"}
