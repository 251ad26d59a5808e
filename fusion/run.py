"""Entry point: ``python -m fusion.run [overrides]`` (add ``-m`` for a multirun sweep).

Thin on purpose: compose (Hydra), validate (fusion.config), hand the typed config to the pipeline.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from fusion.config import ConfigError, check_overrides, register_schema, validate

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


def print_summary(mode: str, summary: dict[str, float], run_id: str, uri: str) -> None:
    keys = ["accuracy", "composite_mean", "overlap_mean", "simpleqa_correct", "simpleqa_incorrect",
            "simpleqa_not_attempted", "baseline_accuracy", "baseline_composite_mean", "control_accuracy",
            "control_composite_mean", "wall_seconds"]
    width = max(len(k) for k in keys)
    lines = [f"\nFusion Steering [{mode}] over {int(summary['n_prompts'])} prompts"]
    lines += [f"  {k:<{width}}  {summary[k]:.3f}" for k in keys if k in summary]
    lines.append(f"MLflow run {run_id} in {uri}")
    lines.append(f"Compare runs:  make ui   (or: mlflow ui --backend-store-uri {uri})")
    print("\n".join(lines), flush=True)


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    try:
        job = validate(cfg)
    except ConfigError as error:
        print(f"fusion: config error: {error}", file=sys.stderr)
        sys.exit(2)
    from fusion.preflight import SetupError, prepare

    try:
        prepared = prepare(job)  # model path, data, judge, layer count: checked before torch is imported
    except SetupError as error:
        print(f"fusion: {error}", file=sys.stderr)
        sys.exit(2)
    from fusion.judges import JudgeUnavailable
    from fusion.pipeline import run_job  # the heavy imports (torch, transformers, MLflow)

    hydra_cfg = HydraConfig.get()
    sweep_id = Path(hydra_cfg.sweep.dir).name if hydra_cfg.mode == RunMode.MULTIRUN else ""
    if sweep_id:
        sweep_id = f"{Path(hydra_cfg.sweep.dir).parent.name}/{sweep_id}"
    resolved = OmegaConf.to_container(cfg, resolve=True)
    try:
        with sigterm_as_interrupt():
            result = run_job(
                job, resolved, output_dir=Path(hydra_cfg.runtime.output_dir), sweep_id=sweep_id, prepared=prepared
            )
    except SetupError as error:  # found once the model is known (e.g. boundaries past its last layer)
        print(f"fusion: {error}", file=sys.stderr)
        sys.exit(2)
    except JudgeUnavailable as error:
        print(f"fusion: {error}; finished prompts are kept: rerun the same command to resume", file=sys.stderr)
        sys.exit(1)
    print_summary(job.steering.mode, result.summary, result.run_id, result.tracking_uri)
    return result.summary["accuracy"]


if __name__ == "__main__":
    try:
        check_overrides([a for a in sys.argv[1:] if "=" in a and not a.startswith("-")])
    except ConfigError as error:
        print(f"fusion: config error: {error}", file=sys.stderr)
        sys.exit(2)
    main()
