"""A run that is no oracle never reads the gold before grading (reference=passage): the same small real
job on the real default model, once as it is and once with every gold answer replaced by a random
string, chooses the same weights from the same trials and gives the same answers; only the grades
differ. Its run says so in its tags."""

from __future__ import annotations

import json
import random
import string

from mlflow.tracking import MlflowClient

from fusion.job.pipeline import JobResult, run_job

ROWS = [
    {
        "question": "Which magazine was started first Arthur's Magazine or First for Women?",
        "answer": "Arthur's Magazine",
        "passage": "Arthur's Magazine (1844-1846) was an American literary periodical published in "
        "Philadelphia in the 19th century. First for Women is a woman's magazine published by Bauer "
        "Media Group in the USA.",
    },
    {
        "question": "The Oberoi family is part of a hotel company that has a head office in what city?",
        "answer": "Delhi",
        "passage": "The Oberoi family is an Indian family that is famous for its involvement in hotels, "
        "namely through The Oberoi Group. The Oberoi Group is a hotel company with its head office in Delhi.",
    },
]


def passage_job(tmp_path, name: str, rows: list[dict[str, str]]) -> JobResult:
    folder = tmp_path / name
    folder.mkdir()
    path = folder / "questions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    overrides = [
        "data=jsonl",
        f"data.path={path}",
        "data.columns.passage=passage",
        "data.limit=2",
        "reference=passage",
        "steering=full",
        "search.n_trials=4",
        "search.batch_size=2",
        "prompts.max_new_tokens=12",
        f"tracking.uri=sqlite:///{folder / 'mlflow.db'}",  # a store of its own: no answer is shared
    ]
    return run_job(overrides, folder / "run")


def test_a_passage_run_does_the_same_with_every_gold_replaced_by_a_random_string(tmp_path):
    rng = random.Random(0)
    scrambled = [{**r, "answer": "".join(rng.choices(string.ascii_lowercase, k=12))} for r in ROWS]
    real, blind = passage_job(tmp_path, "real", ROWS), passage_job(tmp_path, "scrambled", scrambled)
    assert len(real.outcomes) == len(blind.outcomes) == 2
    for a, b in zip(real.outcomes, blind.outcomes):
        assert a.gold != b.gold  # the grading read each file's own gold
        assert (a.baseline.answer, a.control.answer, a.steered.answer) == (
            b.baseline.answer,
            b.control.answer,
            b.steered.answer,
        )
        assert (a.steered.alphas, a.steered.gammas, a.steered.strengths) == (
            b.steered.alphas,
            b.steered.gammas,
            b.steered.strengths,
        )
        assert a.steered.objective == b.steered.objective and a.n_trials == b.n_trials == 4
        assert [(t.number, t.alphas, t.gammas, t.answer, t.overlap, t.perplexity, t.objective) for t in a.trials] == [
            (t.number, t.alphas, t.gammas, t.answer, t.overlap, t.perplexity, t.objective) for t in b.trials
        ]
    # the search scored the passage: some trial overlaps it, where none could overlap a random gold
    assert any(t.overlap > 0 for o in real.outcomes for t in o.trials)
    for result in (real, blind):
        tags = MlflowClient(tracking_uri=result.tracking_uri).get_run(result.run_id).data.tags
        assert (tags["fusion.reference"], tags["fusion.oracle"]) == ("passage", "no")


def test_no_text_the_model_reads_holds_the_gold_and_in_context_gives_the_passage(loaded, monkeypatch):
    """in_context reads the passage in its prompt; full steers toward another question's passage
    (the placebo); no prompt generated from and no reference text averaged over holds the gold."""
    import fusion.job.answering as answering
    from fusion.config.schema import JobConfig, PromptsConfig, ReferenceConfig, SearchConfig, SteeringConfig
    from fusion.evaluate.judges.rules import RulesJudge
    from fusion.job.runner import PromptRunner
    from fusion.records import Prompt

    golds = ["qzxv wrmlk", "jfpq hdtz"]  # random strings: no answer or passage holds them by chance
    prompts = [Prompt(i, r["question"], golds[i], passage=r["passage"]) for i, r in enumerate(ROWS)]
    read: list[str] = []
    means = answering.reference_means
    monkeypatch.setattr(
        answering,
        "reference_means",
        lambda m, t, layers, text, span: read.append(text) or means(m, t, layers, text, span),
    )
    for mode, target_of in (("in_context", None), ("full", {0: prompts[1], 1: prompts[0]})):
        job = JobConfig(
            steering=SteeringConfig(mode=mode, target="shuffled" if target_of else "reference"),
            search=SearchConfig(study_storage="memory", n_trials=2, batch_size=2),
            reference=ReferenceConfig(name="passage"),
            prompts=PromptsConfig(max_new_tokens=8),
        )
        runner = PromptRunner(job, loaded, RulesJudge(), questions=prompts)
        generate = runner.answerer.generate
        monkeypatch.setattr(
            runner.answerer, "generate", lambda texts, _g=generate, **kw: read.extend(texts) or _g(texts, **kw)
        )
        outcomes = list(runner.run_pack(list(enumerate(prompts)), target_of=target_of))
        assert [o.gold for o in outcomes] == golds  # graded against the gold
        if mode == "in_context":
            for prompt in prompts:
                assert any(prompt.passage in t and prompt.question in t for t in read), prompt.index
        else:  # each question steered toward its partner's passage
            assert [o.steered.target_index for o in outcomes] == [1, 0]
            # (the placebo's target is its partner's whole reference: the partner's prompt and passage)
            assert all(any(t.endswith(p.passage) and p.question in t for t in read) for p in prompts)
    assert read and not [t for t in read if any(gold in t for gold in golds)]
