"""Entry point: ``python -m fusion.run [overrides]`` (add ``-m`` for a multirun sweep).

Thin on purpose: compose (Hydra), validate (fusion.config.compose), hand the typed config to the pipeline.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from fusion.config.compose import validate
from fusion.config.overrides import check_composition, check_overrides
from fusion.config.schema import JobConfig, register_schema
from fusion.errors import one_line_errors
from fusion.paths import CONF_DIR

if TYPE_CHECKING:
    from fusion.evaluate.outcomes import GradedAnswer
    from fusion.search.pipeline import JobResult

register_schema()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C so a terminated job still closes its MLflow run (as KILLED)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def answer_line(label: str, answer: GradedAnswer) -> str:
    """One answer of the shown question: composite, the strict verdict, the text (cut), and the
    thresholds it crossed if it is degenerate (its composite alone would not tell babble)."""
    from fusion.evaluate.fluency import fluency
    from fusion.evaluate.scoring import correct_fluent

    text = " ".join(answer.answer.split())
    verdict = "strict yes" if correct_fluent(answer.simpleqa, answer.answer) else "strict no "
    line = f"  {label:<8} {answer.composite:.2f}  {verdict}  {text[:160]}{'...' if len(text) > 160 else ''}"
    reasons = fluency(answer.answer).reasons
    return f"{line}  [degenerate: {', '.join(reasons)}]" if reasons else line


def print_summary(job: JobConfig, result: JobResult) -> None:
    """The scores against the baseline and the control, then one question with its three answers."""
    from fusion.evaluate.metrics import summary_table

    summary = result.summary
    lines = [
        f"\nFusion Steering [{job.steering.mode}, {job.steering.decoding}] over {int(summary['n_prompts'])} prompts "
        f"(oracle results: targets built from the gold answers)",
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
    lines.append(f"Compare runs:  make ui   (or: mlflow ui --backend-store-uri {result.tracking_uri})")
    print("\n".join(lines), flush=True)


# an absolute path: the same fusion/conf/ however the job is started (python -m fusion.run, fusion run)
@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> float:
    with one_line_errors():
        job = validate(cfg)
        from fusion.search.preflight import prepare

        prepared = prepare(job)  # model path, data, judge, layer count, device: before the heavy imports
        from fusion.search.pipeline import run_job  # the heavy imports (torch, transformers, MLflow)

        hydra_cfg = HydraConfig.get()
        sweep_id = Path(hydra_cfg.sweep.dir).name if hydra_cfg.mode == RunMode.MULTIRUN else ""
        if sweep_id:
            sweep_id = f"{Path(hydra_cfg.sweep.dir).parent.name}/{sweep_id}"
        resolved = {str(k): v for k, v in OmegaConf.to_container(cfg, resolve=True).items()}  # type: ignore[union-attr]
        with sigterm_as_interrupt():
            result = run_job(
                job, resolved, output_dir=Path(hydra_cfg.runtime.output_dir), sweep_id=sweep_id, prepared=prepared
            )
    print_summary(job, result)
    return result.summary["accuracy"]


def run(overrides: Sequence[str] = (), output_dir: str | Path | None = None) -> JobResult:
    """Run one job from Python: the same composition, checks and pipeline as
    ``python -m fusion.run OVERRIDES`` (no sweep: one job). Records go to ``output_dir`` (default
    ``outputs/api/<date>/<time>``); the result holds the MLflow run id, the summary and each
    prompt's outcome. Bad input raises :class:`fusion.errors.FusionError` with its one-line message."""
    import time

    from fusion.config.compose import compose_job
    from fusion.search.pipeline import run_job
    from fusion.search.preflight import prepare

    overrides = list(overrides)
    check_overrides(overrides)
    check_composition(overrides)
    cfg = compose_job(overrides)
    job = validate(cfg)
    prepared = prepare(job)
    resolved = {str(k): v for k, v in OmegaConf.to_container(cfg, resolve=True).items()}  # type: ignore[union-attr]
    folder = Path(output_dir) if output_dir else Path("outputs") / "api" / time.strftime("%Y-%m-%d/%H-%M-%S")
    with sigterm_as_interrupt():
        return run_job(job, resolved, output_dir=folder, prepared=prepared)


def cli() -> None:
    """``python -m fusion.run`` and ``fusion run``: check the overrides in one line, then Hydra."""
    with one_line_errors():
        overrides = [a for a in sys.argv[1:] if "=" in a and not a.startswith("-")]
        check_overrides(overrides)
        check_composition(overrides)
    main()


if __name__ == "__main__":
    cli()
