"""Which answers two answers files of one study give differently: a speed-up must not change answers,
or must list every one it changed (``fusion report --answers NEW.jsonl.gz --changed-from OLD.jsonl.gz``).

An answer is keyed by its model, group, search seed, question id and field (the baseline, control
and steered answer, and the reference's explanation), so two runs of the same study compare
whatever their run ids, row order or sharding; an answer in one file only is counted apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fusion.report.labels import Labeller, model_of
from fusion.tracking.answers import Replicate

FIELDS = ("baseline_answer", "control_answer", "explanation", "answer")
AnswerAt = tuple[str, str, int, str, str]  # model, group (its label within the model), seed, question id, field


@dataclass(frozen=True)
class Changes:
    """The answers both files hold, those that differ, and those only one holds."""

    compared: int
    changed: list[tuple[AnswerAt, str, str]]  # where, old text, new text
    only_old: int
    only_new: int

    def markdown(self, width: int = 80) -> str:
        lines = [
            f"{len(self.changed)} of {self.compared} answers differ ({self.only_old} only in the old file, "
            f"{self.only_new} only in the new)."
        ]
        if self.changed:
            lines += ["", "| model | group | seed | question | field | old | new |", "|---|---|---|---|---|---|---|"]
            lines += [
                f"| {model} | {group} | {seed} | {qid} | {name} | {_cell(old, width)} | {_cell(new, width)} |"
                for (model, group, seed, qid, name), old, new in self.changed
            ]
        return "\n".join(lines)


def _cell(text: str, width: int) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 3] + "..."


def answer_texts(reps: Sequence[Replicate]) -> dict[AnswerAt, str]:
    """Every answer text of a study's replicates, by where it stands (groups labelled as the report
    labels them within a model)."""
    out: dict[AnswerAt, str] = {}
    for model in sorted({model_of(r) for r in reps}):
        mine = [r for r in reps if model_of(r) == model]
        labeller = Labeller.of(mine)
        for rep in mine:
            group, seed = labeller.label(rep)[0], int(rep.params.get("search.seed", 0))
            for row in rep.rows:
                for name in FIELDS:
                    if name in row:
                        out[(model, group, seed, rep.qid(row), name)] = str(row[name])
    return out


def changes(old: Sequence[Replicate], new: Sequence[Replicate]) -> Changes:
    """The answers of ``new`` against those of ``old``."""
    a, b = answer_texts(old), answer_texts(new)
    shared = sorted(a.keys() & b.keys())
    return Changes(
        compared=len(shared),
        changed=[(at, a[at], b[at]) for at in shared if a[at] != b[at]],
        only_old=len(a.keys() - b.keys()),
        only_new=len(b.keys() - a.keys()),
    )
