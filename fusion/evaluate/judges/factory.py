"""Build a judge from its typed config node (``judge.name`` picks the implementation).

The node's keys and values were checked at composition and by :func:`fusion.config.compose.validate`;
what is left here is what needs the outside world: the key variable and the judge's model.
Cheap: it runs while a job is prepared, before any model loads.
"""

from __future__ import annotations

from fusion.config.schema import HFJudgeConfig, OpenAIJudgeConfig, RulesJudgeConfig
from fusion.errors import ConfigError
from fusion.evaluate.judges import Judge


def make_judge(cfg: object) -> Judge:
    """``cfg`` is a judge schema node (None: the rules judge)."""
    if cfg is None or isinstance(cfg, RulesJudgeConfig):
        from fusion.evaluate.judges.rules import RulesJudge

        return RulesJudge()
    if isinstance(cfg, OpenAIJudgeConfig):
        from fusion.evaluate.judges.openai import OpenAIJudge

        return OpenAIJudge(cfg)  # reads the key: an unset variable fails here
    if isinstance(cfg, HFJudgeConfig):
        from fusion.config.compose import named_model_config
        from fusion.evaluate.judges.hf import HFJudge

        return HFJudge(named_model_config(cfg.model), cfg)
    raise TypeError(f"not a judge config: {cfg!r}")


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
