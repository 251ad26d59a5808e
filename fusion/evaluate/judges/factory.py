"""Build a judge from its typed config node: the judge's spec, found by the registry
(:mod:`fusion.config.judges`), builds it; no judge is named here.

The node's keys and values were checked at composition and by :func:`fusion.config.compose.validate`;
what is left here is what needs the outside world: the key variable and the judge's model.
Cheap: it runs while a job is prepared, before any model loads.
"""

from __future__ import annotations

from fusion.config.judges import resolve
from fusion.errors import ConfigError
from fusion.evaluate.judges import Judge


def make_judge(cfg: object) -> Judge:
    """``cfg`` is a judge's settings (its schema, or ``judge=plugin``'s node; None: the rules
    judge): its spec (fusion.config.judges) builds it."""
    spec, settings = resolve(cfg)
    judge = spec.build(settings)
    if not isinstance(getattr(judge, "name", None), str) or not callable(getattr(judge, "grade", None)):
        raise ConfigError(f"judge {spec.name}: its factory made {type(judge).__name__}, which has no name and grade()")
    return judge


def judge_from(overrides: list[str], *, judge_keys_only: bool = True) -> Judge:
    """The judge a job composed with ``overrides`` would grade with (``judge=rules``, ``judge=openai
    judge.model=...``): the same composition and checks as ``fusion.run``, one line on bad input.
    ``judge_keys_only``: refuse overrides of anything but the judge (``fusion grade``); a report's
    ``--regrade`` passes a job's whole overrides."""
    from fusion.config.compose import compose_job, validate
    from fusion.config.overrides import check_composition, check_overrides

    for override in overrides if judge_keys_only else ():  # the rest of a job's config has no say in grading
        key = override.split("=", 1)[0].lstrip("+~")
        if "=" not in override or (key != "judge" and not key.startswith("judge.")):
            raise ConfigError(f"{override!r} is no judge override: give judge=NAME or judge.KEY=VALUE")
    check_overrides(overrides)  # a misspelt key or bad value: one line, as in fusion.run
    check_composition(overrides)
    return make_judge(validate(compose_job(overrides)).judge)
