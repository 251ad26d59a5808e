"""How the report labels a replicate's group: its method, plus the trial budget, target, kind of
steering, fixed strengths and objective where the runs differ in them (``full@5``,
``full[shuffled]``, ``full[exact]``, ``segmented[fluent]``, ``full[fixed-median]``), the reference
where it is not the paper's (``full[passage]``) or the runs mix references (``full[gold_explanation]``
beside it), and the order the groups are listed in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from fusion.methods import spec_of_run
from fusion.references import DEFAULT
from fusion.report.oracle import reference_of
from fusion.tracking.answers import Replicate

# the order of a report's groups: the unsteered baseline, the steered methods (in the paper's
# ordering, then the others), the prompted ones
ROLE_ORDER = {"baseline": 0, "steered": 1, "prompted": 2}


def group_label(mode: str, n_trials: str, budgets: set[str], searched: bool = True) -> str:
    """The method, plus its trial budget when searched runs of that method used several budgets."""
    return mode if not searched or len(budgets) == 1 else f"{mode}@{n_trials}"


def steering_variant(rep: Replicate) -> tuple[str, bool]:
    """``(target, exact)`` of a replicate: runs before these tags existed steered toward the
    reference target, exactly (the default then and now)."""
    tags = rep.tags
    return tags.get("fusion.steering_target", "reference"), tags.get("fusion.steering_exact", "true") == "true"


def fixed_of(rep: Replicate) -> str:
    """How a replicate's fixed strengths were chosen (``fixed-median``, ``fixed-median_correct``,
    ``fixed`` where they were given), or "" for a per-question search."""
    if not rep.tags.get("fusion.fixed_strengths"):
        return ""
    source = rep.params.get("search.strengths_from")
    return f"fixed-{rep.params.get('search.strengths_rule', 'median')}" if source not in (None, "None", "") else "fixed"


def variant_suffix(
    target: str, exact: bool, split_exact: bool, objective: str = "", fixed: str = "", reference: str = ""
) -> str:
    """``[exact]``, ``[shuffled]``, ``[exact,shuffled,paper]``, ``[fixed-median]`` or nothing: the
    reference target and, unless the runs mix exact and cached steering, either kind of steering
    keep the plain label; ``objective`` is named where the runs mix objectives (empty: they do not),
    ``reference`` where it is not the paper's (empty: it is)."""
    parts = ["exact"] * (exact and split_exact) + ["shuffled"] * (target == "shuffled") + [fixed] * bool(fixed)
    parts += [objective] * bool(objective) + [reference] * bool(reference)
    return f"[{','.join(parts)}]" if parts else ""


def objective_of(rep: Replicate) -> str:
    """The search objective of a steered replicate; runs logged before it existed used the paper's."""
    return rep.params.get("search.objective", "paper")


def model_of(rep: Replicate) -> str:
    return rep.params.get("model.name", "")


# role, paper rank, mode, budget, exact, shuffled, fixed, objective, reference
SortKey = tuple[int, int, str, int, bool, bool, str, str, str]


@dataclass(frozen=True)
class Labeller:
    """What labels depend on across one model's replicates: the budgets each method ran, and
    whether exact steering and the objectives get groups of their own (only when the runs hold
    another to compare with)."""

    budgets: dict[str, set[str]]
    split_exact: bool
    split_objective: bool
    split_reference: bool  # the runs hold several references: each group then names its own

    @classmethod
    def of(cls, reps: Sequence[Replicate]) -> Labeller:
        budgets: dict[str, set[str]] = defaultdict(set)
        for rep in reps:
            budgets[rep.mode].add(rep.params.get("search.n_trials", ""))
        steered = [r for r in reps if spec_of_run(r.tags).steers]
        searched = [r for r in steered if not fixed_of(r)]  # a fixed-strength run has no objective
        return cls(
            budgets=dict(budgets),
            split_exact=len({steering_variant(r)[1] for r in steered}) > 1,
            split_objective=len({objective_of(r) for r in searched}) > 1,
            split_reference=len({reference_of(r) for r in reps if spec_of_run(r.tags).reference}) > 1,
        )

    def label(self, rep: Replicate) -> tuple[str, SortKey]:
        """A replicate's group label and the group's place in the report."""
        spec, mode = spec_of_run(rep.tags), rep.mode
        n_trials = rep.params.get("search.n_trials", "")
        # the baseline is not steered: target, kind of steering and objective do not apply to it; a
        # prompted method (the reference as a prompt) has a target but no steering and no search
        target, exact = steering_variant(rep) if spec.role != "baseline" else ("reference", False)
        exact = exact and spec.steers
        fixed = fixed_of(rep)
        objective = objective_of(rep) if spec.steers and self.split_objective and not fixed else ""
        # a method that reads a reference is a group of its own for each reference but the paper's,
        # and for the paper's too where the runs mix them (a passage study's oracle ceiling)
        named = spec.reference and (reference_of(rep) != DEFAULT or self.split_reference)
        reference = reference_of(rep) if named else ""
        label = group_label(mode, n_trials, self.budgets[mode], spec.steers) + variant_suffix(
            target, exact, self.split_exact, objective, fixed, reference
        )
        key = (
            ROLE_ORDER[spec.role],
            99 if spec.paper_rank is None else spec.paper_rank,
            mode,
            int(n_trials or 0) if spec.steers else 0,
            exact and self.split_exact,
            target == "shuffled",
            fixed,
            objective,
            reference,
        )
        return label, key
