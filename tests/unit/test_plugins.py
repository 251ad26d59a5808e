"""A plug-in's functions on a dry input before any weights load, the set-up problems of a job named
together, and a path plug-in's layer profile in the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from fusion.config.compose import compose_job, validate
from fusion.config.schema import SteeringConfig
from fusion.errors import ConfigError, SetupError
from fusion.methods import LayerGroupMethod, MethodSpec, builtin_names, find
from fusion.methods.dry_run import dry_run
from fusion.report.plots import group_profile

SPEC = MethodSpec(name="toy", summary="a toy", role="steered", searched=True, reference=True, extra_params=("k",))


class Toy(LayerGroupMethod):
    spec = SPEC

    def __init__(self, short: int = 0, params: object = None, value: object = 0.5) -> None:
        self.short, self.params, self.value = short, params, value

    def suggest(self, trial, num_layers, steering):  # type: ignore[no-untyped-def]
        return {"k": float(trial.suggest_int("k", 0, num_layers - 1))} if self.params is None else self.params

    def fixed_params(self, num_layers: int, steering: object) -> dict[str, float]:
        return {"k": 0.0}

    def layer_weights(
        self, strengths: Sequence[float], params: Mapping[str, float], groups: Sequence[range], num_layers: int
    ) -> list[float]:
        return [self.value] * (num_layers - self.short)  # type: ignore[list-item]


def test_every_built_in_method_passes_the_dry_run_at_the_default_models_depth():
    for name in builtin_names():
        steering = SteeringConfig(mode=name, boundaries=[10, 20] if name == "segmented" else None)
        dry_run(find(name), 30, steering)  # type: ignore[arg-type]
    dry_run(find("single_layer"), 30, SteeringConfig(mode="single_layer", layer=4), fixed_strengths=[0.3])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "message"),
    [
        (
            Toy(short=1),
            r"^config error: method 'toy': layer_weights\(strengths, params, groups, 30\) returned 29 weights: it must return one float per decoder layer \(30\)$",
        ),
        (
            Toy(value="x"),
            r"method 'toy': layer_weights\(strengths, params, groups, 30\) returned \['x', 'x', 'x'\] among its weights: each must be a finite float",
        ),
        (Toy(value=float("nan")), r"returned \[nan, nan, nan\] among its weights"),
        (
            Toy(params={}),
            r"method 'toy': suggest\(trial, num_layers, steering\) returned no k: spec.extra_params declares k",
        ),
        (
            Toy(params={"k": "3"}),
            r"suggest\(trial, num_layers, steering\) returned \{'k': '3'\}: it must return a dict of name -> float",
        ),
    ],
)
def test_a_wrong_plugin_function_fails_in_one_line_naming_the_method_and_the_function(method, message):
    with pytest.raises(ConfigError, match=message) as caught:
        dry_run(method, 30, SteeringConfig(mode="toy"))
    assert "\n" not in str(caught.value)


def test_a_plugin_function_that_raises_is_named_with_its_error():
    class Broken(Toy):
        def groups(self, num_layers: int, steering: object) -> list[range]:
            return [range(0, num_layers + 1)]

    class Raising(Toy):
        def layer_weights(self, strengths, params, groups, num_layers):  # type: ignore[no-untyped-def]
            return [strengths[1]] * num_layers  # one group: there is no second strength

    with pytest.raises(
        ConfigError,
        match=r"method 'toy': groups\(30, steering\) returned \[range\(0, 31\)\]: every range must lie in range\(0, 30\)",
    ):
        dry_run(Broken(), 30, SteeringConfig(mode="toy"))
    with pytest.raises(
        ConfigError, match="^config error: method 'toy': layer_weights raised IndexError: list index out of range$"
    ):
        dry_run(Raising(), 30, SteeringConfig(mode="toy"))


def test_a_jobs_set_up_problems_are_named_together_in_one_line(tmp_path):
    """A fresh machine without the model package and without the data hears of both at once."""
    from fusion.job.preflight import prepare

    job = validate(
        compose_job(
            [
                "model.gguf_package=no-such-model-package",
                f"data.path={tmp_path / 'missing.csv'}",
                f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
            ]
        )
    )
    with pytest.raises(SetupError) as caught:
        prepare(job)
    text = str(caught.value)
    assert text.startswith(
        "2 set-up problems: (1) model.gguf_package: pip package no-such-model-package is not installed"
    )
    assert f"; (2) SimpleQA data not found at {tmp_path / 'missing.csv'}" in text and "\n" not in text


def test_the_report_draws_a_path_plugins_profile_by_the_path_its_runs_recorded(tmp_path, monkeypatch):
    (tmp_path / "lastthird.py").write_text(
        "from fusion.methods import LayerGroupMethod, MethodSpec\n"
        "class LastThird(LayerGroupMethod):\n"
        "    spec = MethodSpec(name='lastthird', summary='s', role='steered', searched=True, reference=True)\n"
        "    def layer_weights(self, strengths, params, groups, num_layers):\n"
        "        return [float(strengths[0]) if i >= 2 * num_layers // 3 else 0.0 for i in range(num_layers)]\n"
        "LAST = LastThird()\n"
    )
    monkeypatch.chdir(tmp_path)
    entry = {"mode": "lastthird", "role": "steered", "segments": "0-5", "strengths": [[0.2], [0.4]], "params": [{}, {}]}
    assert group_profile(entry) == (
        [],
        "lastthird: no layer profile (the method is neither built in nor installed here)",
    )
    profile, why = group_profile({**entry, "plugin": "lastthird:LAST"})
    assert why == "" and profile == pytest.approx([0.0] * 4 + [0.3] * 2)
    gone, why = group_profile({**entry, "plugin": "gone_module:LAST"})
    assert gone == [] and why.startswith(
        "lastthird: no layer profile (config error: steering.plugin=gone_module:LAST: cannot import it"
    )
