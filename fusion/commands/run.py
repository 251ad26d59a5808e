"""``fusion run``: one Fusion Steering job, or a sweep with ``-m`` (Hydra overrides).

Compose (Hydra), validate (:mod:`fusion.config.compose`), hand the typed config to the pipeline
(:func:`fusion.job.pipeline.run_job`), print the summary. ``python -m fusion.run`` is the same
command (:mod:`fusion.run`). Hydra is imported inside :func:`main`, so that ``fusion --help`` stays
instant; ``fusion run --help`` is Hydra's own help.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fusion.paths import CHECKOUT, has_makefile

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from fusion.config.schema import JobConfig
    from fusion.evaluate.outcomes import GradedAnswer
    from fusion.job.pipeline import JobResult

HELP = "one Fusion Steering job, or a sweep with -m (Hydra overrides, e.g. steering=segmented)"
# the first line of `fusion run --help` (Hydra's help; its template is hydra.help in the config)
HELP_HEADER = (
    "usage: fusion run [KEY=VALUE ...] [-m]   (or python -m fusion.run; -m sweeps lists: steering=full,segmented)"
)


def answer_line(label: str, answer: GradedAnswer) -> str:
    """One answer of the shown question: composite, the strict verdict, the text (cut), and the
    thresholds it crossed if it is degenerate (its composite alone would not tell babble)."""
    from fusion.evaluate.fluency import fluency
    from fusion.evaluate.scoring import correct_fluent

    text = " ".join(answer.answer.split())
    verdict = "strict yes" if correct_fluent(answer.label, answer.answer) else "strict no "
    line = f"  {label:<8} {answer.composite:.2f}  {verdict}  {text[:160]}{'...' if len(text) > 160 else ''}"
    reasons = fluency(answer.answer).reasons
    return f"{line}  [degenerate: {', '.join(reasons)}]" if reasons else line


def compare_line(tracking_uri: str, checkout: Path | None = CHECKOUT) -> str:
    """The run's closing line: ``make ui`` in a checkout (it has the Makefile), else MLflow's own command."""
    mlflow_ui = f"mlflow ui --backend-store-uri {tracking_uri}"
    return f"Compare runs:  make ui   (or: {mlflow_ui})" if has_makefile(checkout) else f"Compare runs:  {mlflow_ui}"


def print_summary(job: JobConfig, result: JobResult) -> None:
    """The scores against the baseline and the control, then one question with its three answers."""
    from fusion.evaluate.metrics import summary_table
    from fusion.references import oracle_line, resolve

    summary = result.summary
    reference = resolve(job.reference.name, job.reference.plugin).spec
    lines = [
        f"\nFusion Steering [{job.steering.mode}, {job.steering.decoding}] over {int(summary['n_prompts'])} prompts "
        f"({oracle_line(reference.oracle, reference.name)})",
        summary_table(summary),
    ]
    if result.outcomes:
        shown = max(result.outcomes, key=lambda o: o.steered.composite - o.baseline.composite)
        lines += [
            f"\nQ: {shown.question}   (gold: {shown.gold})",
            "  (composite; strict: the judge says CORRECT and the answer is not degenerate)",
        ]
        for label, answer in (("baseline", shown.baseline), ("control", shown.control), ("steered", shown.steered)):
            lines.append(answer_line(label, answer))
    lines.append(f"\nMLflow run {result.run_id} in {result.tracking_uri} ({summary.get('wall_seconds', 0):.0f} s)")
    lines.append(compare_line(result.tracking_uri))
    print("\n".join(lines), flush=True)


def job(cfg: DictConfig) -> float:
    """The Hydra task: one job of the composed config ``cfg``; its accuracy (a sweeper may optimise it)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from fusion.config.compose import validate
    from fusion.errors import one_line_errors

    with one_line_errors():
        checked = validate(cfg)
        from fusion.job.preflight import prepare

        prepared = prepare(checked)  # model path, data, judge, layer count, device: before the heavy imports
        from fusion.job.pipeline import run_job  # the heavy imports (torch, transformers, MLflow)

        hydra_cfg = HydraConfig.get()
        sweep_id = Path(hydra_cfg.sweep.dir).name if hydra_cfg.mode == RunMode.MULTIRUN else ""
        if sweep_id:
            sweep_id = f"{Path(hydra_cfg.sweep.dir).parent.name}/{sweep_id}"
        output_dir = Path(hydra_cfg.runtime.output_dir)
        result = run_job(config=cfg, output_dir=output_dir, sweep_id=sweep_id, prepared=prepared)
    print_summary(checked, result)
    return result.summary["accuracy"]


def hydra_main(args: list[str]) -> None:
    """Check the overrides in one line, then hand ``args`` to Hydra (which reads ``sys.argv``)."""
    import hydra

    from fusion.config.overrides import check_composition, check_overrides
    from fusion.config.schema import register_schema
    from fusion.errors import one_line_errors
    from fusion.paths import CONF_DIR

    with one_line_errors():
        overrides = [a for a in args if "=" in a and not a.startswith("-")]
        check_overrides(overrides)
        check_composition(overrides)
    if {"-h", "--help"} & set(args):  # Hydra's help would open with "run is powered by Hydra."
        args = [*args, f"hydra.help.header='{HELP_HEADER}\n'"]
    register_schema()
    sys.argv = [sys.argv[0], *args]
    # an absolute config path: the same fusion/conf/ however the job is started; Hydra names the
    # job after this module's file (hydra.job.name = run), as it did when fusion/run.py held it
    hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")(job)()


def main(argv: list[str] | None = None) -> int:
    """``fusion run`` and ``python -m fusion.run``. Ctrl-C (or SIGTERM during the job) ends in one
    line and exit code 128 + the signal (130, 143)."""
    from fusion.errors import Interrupted

    try:
        hydra_main(sys.argv[1:] if argv is None else list(argv))
    except KeyboardInterrupt as stop:  # run_job marked its run KILLED; its finished prompts are kept
        interrupted = stop if isinstance(stop, Interrupted) else Interrupted()
        print(interrupted.line(), file=sys.stderr, flush=True)
        return 128 + interrupted.signum
    return 0


if __name__ == "__main__":
    sys.exit(main())
