"""Steering methods as plug-ins: the registry, each built-in method's layer weights, and a search
whose trials draw a method's extra parameter (single_layer's layer) in a real Optuna study."""

from __future__ import annotations

import optuna
import pytest

from fusion.config.compose import compose_job, validate
from fusion.config.schema import SearchConfig, SteeringConfig
from fusion.errors import ConfigError
from fusion.evaluate.outcomes import Candidate
from fusion.methods import MethodSpec, builtin_names, find, resolve, spec_of_run
from fusion.search.weights import search_prompts


def test_the_built_in_methods_and_their_specs():
    assert builtin_names() == ["baseline", "in_context", "full", "segmented", "mean_diff", "single_layer"]
    roles = {name: find(name).spec.role for name in builtin_names()}
    assert roles == {
        "baseline": "baseline",
        "in_context": "prompted",
        "full": "steered",
        "segmented": "steered",
        "mean_diff": "steered",
        "single_layer": "steered",
    }
    assert find("mean_diff").spec.update == "add" and find("full").spec.update == "toward"
    assert find("single_layer").spec.extra_params == ("layer",)
    assert set(find("single_layer").spec.compare_with) == {"full", "segmented"}
    # the spec travels with a run as a tag and reads back the same
    spec = find("segmented").spec
    assert MethodSpec.from_tag(spec.tag()) == spec
    assert spec_of_run({"fusion.method": spec.tag()}) == spec
    assert spec_of_run({"fusion.mode": "full"}) == find("full").spec  # a run from before the tag


def test_an_unknown_method_or_plugin_fails_in_one_line():
    with pytest.raises(ConfigError, match="steering.mode: 'fulll' is not one of baseline, in_context, full"):
        resolve(SteeringConfig(mode="fulll"))
    with pytest.raises(ConfigError, match="steering.plugin=no.such.module:THING: cannot import it"):
        resolve(SteeringConfig(mode="toy"), "no.such.module:THING")
    with pytest.raises(ConfigError, match="is not a steering method"):
        resolve(SteeringConfig(mode="toy"), "fusion.methods.spec:ROLES")
    # a class is refused in one line: the module names an instance
    with pytest.raises(ConfigError, match=r"is the class Full, not a method object: add `METHOD = Full\(\)`"):
        resolve(SteeringConfig(mode="toy"), "fusion.methods.full:Full")
    # both spellings of the path find the same object; the plug-in's spec names it, whatever the mode
    assert resolve(SteeringConfig(mode="toy"), "fusion.methods.full.METHOD") is find("full")
    assert resolve(SteeringConfig(), "fusion.methods.full:METHOD") is find("full")


def test_a_plugin_alone_names_the_method_and_a_different_mode_beside_it_fails(tmp_path, monkeypatch):
    """``steering.plugin=module:NAME`` alone: the module in the current folder (as a console
    script, whose import path lacks that folder), and the config's mode becomes the spec's name."""
    import sys

    from fusion.config.overrides import check_overrides

    (tmp_path / "toy_here.py").write_text(
        "from fusion.methods import LayerGroupMethod, MethodSpec\n"
        "class Toy(LayerGroupMethod):\n"
        "    spec = MethodSpec(name='toy_here', summary='s', role='steered', searched=True, reference=True)\n"
        "TOY = Toy()\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    job = validate(compose_job(["steering.plugin=toy_here:TOY"]))
    assert job.steering.mode == "toy_here" and str(tmp_path) not in sys.path
    check_overrides(["steering.plugin=toy_here:TOY", "steering.mode=toy_here"])  # the same name: fine
    with pytest.raises(
        ConfigError, match="steering.mode: 'full' but steering.plugin=toy_here:TOY is called 'toy_here'"
    ):
        check_overrides(["steering.plugin=toy_here:TOY", "steering.mode=full"])


def test_layer_weights_of_full_segmented_and_single_layer():
    steering = SteeringConfig(boundaries=[2, 4])
    full, segmented, single = (find(n) for n in ("full", "segmented", "single_layer"))
    assert full.layer_weights([0.5], {}, full.groups(6, steering), 6) == [0.5] * 6
    groups = segmented.groups(6, steering)
    assert groups == [range(0, 2), range(2, 4), range(4, 6)]
    assert segmented.layer_weights([0.1, 0.2, 0.3], {}, groups, 6) == [0.1, 0.1, 0.2, 0.2, 0.3, 0.3]
    assert single.layer_weights([0.4], {"layer": 3.0}, single.groups(6, steering), 6) == [0, 0, 0, 0.4, 0, 0]
    assert find("baseline").groups(6, steering) == [] and find("in_context").groups(6, steering) == []
    with pytest.raises(ConfigError, match=r"steering.layer=6 is past the model's last layer: use 0..5"):
        single.groups(6, SteeringConfig(mode="single_layer", layer=6))


def test_single_layer_in_the_config():
    job = validate(compose_job(["steering=single_layer"]))
    assert (job.steering.mode, job.steering.layer) == ("single_layer", None)
    assert validate(compose_job(["steering=single_layer", "steering.layer=3"])).steering.layer == 3
    with pytest.raises(ConfigError, match="steering.layer: must be >= 0"):
        validate(compose_job(["steering=single_layer", "steering.layer=-1"]))
    # fixed strengths search nothing: the layer must be fixed too
    with pytest.raises(ConfigError, match="fixed strengths for single_layer need steering.layer=N"):
        validate(compose_job(["steering=single_layer", "search.strengths=[0.3]"]))
    assert validate(compose_job(["steering=single_layer", "steering.layer=2", "search.strengths=[0.3]"]))
    with pytest.raises(ConfigError, match="steering.target: shuffled needs a reference"):
        validate(compose_job(["steering=baseline", "steering.target=shuffled"]))


def test_a_search_draws_the_layer_per_trial_and_a_stored_study_gives_it_back(tmp_path):
    """The real search over a real SQLite study: each trial draws single_layer's layer beside its
    alpha and gamma, the evaluator sees it, and a resumed job reads the same trials back."""
    method, steering = find("single_layer"), SteeringConfig(mode="single_layer")
    seen: list[dict[str, float]] = []

    def evaluate(rows):
        seen.extend(params for _, _, params in rows)
        weights = [method.layer_weights(s, p, method.groups(8, steering), 8) for _, s, p in rows]
        return [Candidate(f"layer {w.index(max(w))}", 0.1 * w.index(max(w)), 20.0) for w in weights]

    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    cfg = SearchConfig(n_trials=6, batch_size=3, sampler="random")
    run = lambda: search_prompts(  # noqa: E731
        evaluate,
        [optuna_spec(0), optuna_spec(1)],
        1,
        cfg,
        storage=storage,
        suggest_extra=lambda trial: method.suggest(trial, 8, steering),
        extra_params=method.spec.extra_params,
    )
    first = run()
    assert len(seen) == 12 and all(0 <= p["layer"] <= 7 and p["layer"] == int(p["layer"]) for p in seen)
    assert len({p["layer"] for p in seen}) > 1  # drawn per trial, not fixed
    assert [t.params for t in first[0]] == seen[:3] + seen[6:9]  # the pack's rows in order: slot 0 then 1
    assert all(t.answer == f"layer {int(t.params['layer'])}" for trials in first for t in trials)
    again = run()  # complete stored studies are read back, not searched
    assert again == first and len(seen) == 12
    # a fixed layer is no parameter of the study: it is recorded as the trial's fixed_params
    fixed = SteeringConfig(mode="single_layer", layer=5)
    trials = search_prompts(
        evaluate,
        [optuna_spec(2)],
        1,
        SearchConfig(n_trials=2, sampler="random"),
        storage=storage,
        suggest_extra=lambda trial: method.suggest(trial, 8, fixed),
        extra_params=method.spec.extra_params,
    )[0]
    assert [t.params for t in trials] == [{"layer": 5.0}] * 2
    study = optuna.load_study(study_name="p2", storage=storage)
    assert "layer" not in study.trials[0].params and study.trials[0].user_attrs["fixed_params"] == {"layer": 5.0}


def optuna_spec(i: int):
    from fusion.search.weights import StudySpec

    return StudySpec(seed=i, name=f"p{i}")
