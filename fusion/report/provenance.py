"""What a report was measured on, read from its runs: where they ran, the models, the questions
(:class:`QuestionSpan`), the groups that ran one shard only, and the kind of steering."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

from fusion.data import title_of
from fusion.methods import spec_of_run
from fusion.report.summary import Summary
from fusion.tracking.answers import Replicate
from fusion.tracking.environment import host_description


def machine(reps: list[Replicate] | None = None) -> str:
    """Where the runs ran: their ``fusion.host`` tags (and the device, Python and torch they
    recorded) when every run has one, else this machine (a report of runs recorded before the tag)."""
    hosts = sorted({r.tags.get("fusion.host", "") for r in reps or []})
    if reps and "" not in hosts:
        gpu = "GPU" if any("cuda" in r.tags.get("fusion.device", "") for r in reps) else "no GPU used"
        python = ", ".join(sorted({r.tags.get("python", "?") for r in reps}))
        torch = ", ".join(sorted({r.tags.get("torch", "?") for r in reps}))
        return f"{'; '.join(hosts)}, {gpu}; Python {python}, torch {torch}"
    import platform

    return f"{host_description()}, no GPU used; Python {platform.python_version()}, torch {_version('torch')}"


def _version(package: str) -> str:
    # the installed version without importing it: the report must not pay for loading torch
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _by_sweep(reps: list[Replicate]) -> dict[str, list[Replicate]]:
    out: dict[str, list[Replicate]] = {}
    for rep in reps:
        out.setdefault(rep.tags.get("fusion.sweep_id", ""), []).append(rep)
    return out


def partial_shards(summary: Summary, reps: list[Replicate]) -> list[str]:
    """The groups that ran one shard of their questions only (the fixed strengths run on the half
    they were not chosen on), by their report labels: ``full[fixed-median] ran data.shard=1 of 2``."""
    label_of = {run: label for label, g in summary.items() for run in g.runs}
    out = []
    for rep in reps:
        shards = int(rep.params.get("data.num_shards", "1") or 1)
        if shards > len(rep.run_ids):
            out.append(f"{label_of.get(rep.id, rep.mode)} ran data.shard={rep.params.get('data.shard')} of {shards}")
    return out


def models_of(reps: list[Replicate]) -> list[str]:
    """Each model of the study with the file or revision it was loaded from."""
    identities: dict[str, set[str]] = {}
    for rep in reps:
        identities.setdefault(rep.params.get("model.name", "?"), set()).add(rep.tags.get("fusion.model_identity", "?"))
    return [f"{name} ({', '.join(sorted(ids))})" for name, ids in sorted(identities.items())]


@dataclass(frozen=True)
class QuestionSpan:
    """The questions a run answered: ``count`` (None: all) from row ``start`` of ``dataset``."""

    dataset: str
    start: int
    count: int | None

    @classmethod
    def of(cls, rep: Replicate) -> QuestionSpan:
        offset, limit = (rep.params.get(f"data.{k}", "None") for k in ("offset", "limit"))
        return cls(
            rep.params.get("data.name", "?"),
            int(offset) if offset.isdigit() else 0,
            int(limit) if limit.isdigit() else None,  # data.limit=null is all of them
        )

    def title(self) -> str:
        """For the title: the paper's 260 questions, questions 1-40 of the paper's 260, <set> rows 1000-1259."""
        if self.dataset == "paper260":
            end = 260 if self.count is None else min(260, self.start + self.count)
            if (self.start, end) == (0, 260):
                return "the paper's 260 questions"
            return f"questions {self.start + 1}-{end} of the paper's 260"
        if self.count is None:
            return f"{self.dataset} from row {self.start}"
        return f"{self.dataset} rows {self.start}-{self.start + self.count - 1}"

    def prompts(self) -> str:
        """For the Prompts line: all of the paper's 260, the first 40 of it, 260 from row 1000 of <the set's title>."""
        source = title_of(self.dataset)
        if not self.start:
            return f"{'all' if self.count is None else f'the first {self.count}'} of {source}"
        return f"{'all' if self.count is None else self.count} from row {self.start} of {source}"


def question_spans(reps: list[Replicate]) -> list[QuestionSpan]:
    """The distinct question spans of the runs, the widest of a dataset and row first."""
    return sorted(
        {QuestionSpan.of(r) for r in reps}, key=lambda s: (s.dataset, s.start, s.count is not None, -(s.count or 0))
    )


def questions_named(reps: list[Replicate]) -> str:
    """The report's questions, for its title: "the paper's 260 questions", "questions 1-40 of the
    paper's 260", "<set> rows 1000-1259"; joined by "and" where the runs answered different ones."""
    return " and ".join(span.title() for span in question_spans(reps))


def steering_of(reps: list[Replicate]) -> str:
    """The kind of steering the steered runs used (a baseline run steers nothing: its decoding
    setting says nothing about the steering)."""
    exact = sorted({r.tags.get("fusion.steering_exact", "") for r in reps if spec_of_run(r.tags).steers})
    if not exact:
        return "none (baseline only)"
    if exact == ["true"]:
        return "exact (the paper's: no KV cache)"
    if exact == ["false"]:
        return "cached (KV cache, running means: not the paper's exact mode)"
    return "cached and exact (the paper's), in separate runs: the table's mode column says which"


def wall_time(reps: list[Replicate], wall_seconds: list[float]) -> str:
    """The study's wall time: as its commands measured it, else per sweep from its first run's start
    to its last run's end, summed."""
    if wall_seconds:
        total = sum(wall_seconds)
        return f"{total / 60:.1f} min" + (" (the sum over its commands)" if len(wall_seconds) > 1 else "")
    sweeps = _by_sweep(reps)
    total = sum((max(r.end_time for r in sweep) - min(r.start_time for r in sweep)) / 1000 for sweep in sweeps.values())
    return f"{total / 60:.1f} min" + (f" (the sum over its {len(sweeps)} sweeps)" if len(sweeps) > 1 else "")


def command_lines(commands: list[str], wall_seconds: list[float]) -> list[str]:
    """The commands that ran the study, each with its wall time where the report joins several."""
    if len(commands) <= 1:
        return [f"- Command: `{commands[0] if commands else ''}`"]
    walls = [f" ({w / 60:.1f} min)" for w in wall_seconds] or [""] * len(commands)  # one per command, or none
    return [
        "- Commands (the report joins their answers):",
        *(f"  - `{c}`{w}" for c, w in zip(commands, walls, strict=True)),
    ]
