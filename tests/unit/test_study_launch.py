"""``fusion study hydra/launcher=ray_cluster``: the launcher's overrides are no job's, and the
unsteered jobs are the first wave. (The study on a real Ray: tests/e2e/test_study_ray.py.)"""

from __future__ import annotations

import pytest

from fusion.commands.study import main
from fusion.errors import ConfigError
from fusion.job.launch import split_launcher, waves
from fusion.job.study import plan


def test_the_launcher_overrides_go_to_the_launcher_and_the_rest_to_every_job():
    given = ["data.limit=3", "hydra/launcher=ray_cluster", "hydra.launcher.ray.remote.num_gpus=1", "+hydra.x=1"]
    launcher, jobs = split_launcher(given)
    assert launcher == ["hydra/launcher=ray_cluster", "hydra.launcher.ray.remote.num_gpus=1", "+hydra.x=1"]
    assert jobs == ["data.limit=3"]
    assert split_launcher(["data.limit=3"]) == ([], ["data.limit=3"])
    with pytest.raises(
        ConfigError,
        match="num_gpus=1: a study takes Hydra.s settings only for its launcher: add hydra/launcher=ray_cluster",
    ):
        split_launcher(["hydra.launcher.ray.remote.num_gpus=1"])


def test_the_plan_on_a_launcher_shows_no_launcher_override_in_a_job(capsys):
    argv = ["data.limit=3", "hydra/launcher=ray_cluster", "hydra.launcher.ray.remote.num_cpus=2"]
    assert main([*argv, "--groups", "baseline,full", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "  full s0: steering=full search.seed=0 data.limit=3\n" in printed
    assert "hydra" not in printed


def test_the_unsteered_jobs_are_the_first_wave_whatever_the_order_of_the_groups():
    jobs = plan(["full", "placebo", "in_context", "baseline"], [0, 1], 0, [])
    first, rest = waves(jobs)
    assert [job.label for job in first] == ["in_context", "baseline"]
    assert [job.label for job in rest] == ["full s0", "full s1", "placebo s0", "placebo s1"]
    assert waves(plan(["full"], [0], 0, [])) == [plan(["full"], [0], 0, [])]
