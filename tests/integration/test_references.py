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
