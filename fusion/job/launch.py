"""A study's jobs on a Hydra launcher (``hydra/launcher=ray_cluster``): the way ``python -m
fusion.run -m`` runs a sweep, the study's jobs given to the launcher as Hydra's sweepers give it
theirs (a list of override lists per batch).

    fusion study data.limit=40 hydra/launcher=ray_cluster hydra.launcher.ray.remote.num_gpus=1

The launcher overrides (``hydra/launcher=...``, ``hydra.launcher.*``) configure the launcher and
are no job's. The jobs run in two waves: first the unsteered jobs (baseline, in_context), whose
unsteered answers every later job reads from the answer store instead of generating them again,
then all the others at once, as many at a time as the cluster has room for. A job prints its start
and its end where it runs (Ray relays it, prefixed with its worker's pid); the launching process
prints each wave's end with the job time left. A job is :func:`fusion.job.pipeline.run_job` into
the sweep ``study/NAME``, as in the single-process study: a finished job is read back, an
unfinished one resumes its run, and a job whose worker died is run again by Ray and resumes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from omegaconf import DictConfig

from fusion.errors import ConfigError


class PlannedJob(Protocol):
    """What the launcher needs of a study's job (``fusion.job.study.Job``)."""

    @property
    def label(self) -> str: ...
    @property
    def overrides(self) -> list[str]: ...
    @property
    def kind(self) -> str: ...  # unsteered jobs run first


J = TypeVar("J", bound=PlannedJob)


@dataclass(frozen=True)
class Finished:
    """What a job sends back to the launching process: its time and whether it ran now."""

    label: str
    seconds: float
    read_back: bool
    answered: int


def split_launcher(overrides: Sequence[str]) -> tuple[list[str], list[str]]:
    """The launcher's overrides (``hydra/launcher=...`` and every ``hydra.`` key) and the jobs'.
    Hydra keys without a launcher choose nothing a study could use: a one-line error."""
    launcher = [o for o in overrides if o.lstrip("+~").startswith(("hydra/", "hydra."))]
    if launcher and not any(o.lstrip("+").startswith("hydra/launcher=") for o in launcher):
        raise ConfigError(
            f"{launcher[0]}: a study takes Hydra's settings only for its launcher: add hydra/launcher=ray_cluster"
        )
    return launcher, [o for o in overrides if o not in launcher]


def subdir(label: str) -> str:
    """A job's folder in the study's (the single-process study's too)."""
    return label.replace(" ", "-")


@dataclass(frozen=True)
class StudyJob:
    """The task function the launcher runs for each job (pickled to the worker): one study job
    into the sweep ``sweep_id``, its label found by its Hydra job number."""

    sweep_id: str
    labels: tuple[str, ...]

    def __call__(self, cfg: DictConfig) -> Finished:
        from hydra.core.hydra_config import HydraConfig

        from fusion.job.pipeline import run_job
        from fusion.job.preflight import checked_job, prepare

        hydra = HydraConfig.get()
        number = int(hydra.job.num)
        label, position = self.labels[number], f"[{number + 1}/{len(self.labels)}]"
        print(f"{position} {label}", flush=True)
        begun = time.perf_counter()
        prepared = prepare(checked_job(config=cfg)[0])
        result = run_job(
            config=cfg, output_dir=Path(hydra.runtime.output_dir), sweep_id=self.sweep_id, prepared=prepared
        )
        seconds = time.perf_counter() - begun
        print(f"{position} {label} done in {seconds:.0f} s" + " (read back)" * result.read_back, flush=True)
        return Finished(label, seconds, result.read_back, result.answered)


def waves(jobs: Sequence[J]) -> list[list[J]]:
    """The jobs in the order the launcher gets them: the unsteered ones, then the rest."""
    first = [job for job in jobs if job.kind == "unsteered"]
    rest = [job for job in jobs if job.kind != "unsteered"]
    return [wave for wave in (first, rest) if wave]


def launch_all(
    jobs: Sequence[J],
    name: str,
    launcher_overrides: Sequence[str],
    shared_overrides: Sequence[str],
    estimate: Callable[[Sequence[J], dict[str, float]], float],
    rates: dict[str, float],
    overhead: float,
) -> tuple[float, int]:
    """Run the study's jobs on the launcher the overrides choose, wave after wave, into the sweep
    ``study/NAME`` (folders under ``outputs/studies/NAME``, as in the single-process study).
    ``estimate(jobs, rates)`` is the job time the jobs should take at ``rates`` (seconds per
    question of each kind), refined from the jobs that ran as in the single-process study. Returns
    the wall seconds and how many jobs were read back finished from an earlier attempt."""
    from hydra import initialize_config_dir
    from hydra._internal.callbacks import Callbacks  # what Hydra's multirun gives its sweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.plugins import Plugins
    from hydra.types import HydraContext, RunMode

    from fusion.config.schema import register_schema
    from fusion.paths import CONF_DIR

    started = time.perf_counter()
    planned = waves(jobs)
    ordered = [job for wave in planned for job in wave]  # Hydra numbers the jobs in this order
    choice = next(o for o in launcher_overrides if o.lstrip("+").startswith("hydra/launcher="))
    register_schema()
    GlobalHydra.instance().clear()  # the jobs' checks composed with Hydra's compose API
    sweep = [*launcher_overrides, f"hydra.sweep.dir={Path('outputs') / 'studies' / name}"]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="fusion.study"):
        hydra = GlobalHydra.instance().hydra
        assert hydra is not None
        cfg = hydra.compose_config("config", [*sweep, *shared_overrides], run_mode=RunMode.MULTIRUN)
        callbacks = Callbacks(cfg)
        callbacks.on_multirun_start(config=cfg, config_name="config")  # the tracking store, once
        task = StudyJob(f"study/{name}", tuple(job.label for job in ordered))
        context = HydraContext(config_loader=hydra.config_loader, callbacks=callbacks)
        launcher = Plugins.instance().instantiate_launcher(hydra_context=context, task_function=task, config=cfg)
        read_back, rates, first = 0, dict(rates), 0
        for n, wave in enumerate(planned, 1):
            print(f"\nwave {n}/{len(planned)} on {choice}: {', '.join(job.label for job in wave)}", flush=True)
            begun = time.perf_counter()
            overrides = [[*job.overrides, f"hydra.sweep.subdir={subdir(job.label)}"] for job in wave]
            for job, result in zip(wave, launcher.launch(overrides, initial_job_idx=first)):
                finished = result.return_value  # a job that failed raises its error here
                assert isinstance(finished, Finished)
                if finished.read_back:  # as the single-process study refines its estimate
                    read_back += 1
                elif finished.answered:
                    rates[job.kind] = max(0.0, finished.seconds - overhead) / finished.answered
            first += len(wave)
            rest = ordered[first:]
            print(f"wave {n}/{len(planned)}: {len(wave)} jobs done in {time.perf_counter() - begun:.0f} s"
                  + (f"; about {estimate(rest, rates) / 60:.0f} min of job time left" if rest else ""), flush=True)  # fmt: skip
        callbacks.on_multirun_end(config=cfg, config_name="config")
    return time.perf_counter() - started, read_back
