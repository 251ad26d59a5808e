"""Build a judge from its typed config node (``judge.name`` picks the implementation).

The node's keys and values were checked at composition and by :func:`fusion.config.compose.validate`;
what is left here is what needs the outside world: the key variable and the judge's model.
Cheap: it runs while a job is prepared, before any model loads.
"""

from __future__ import annotations

from fusion.config.schema import HFJudgeConfig, OpenAIJudgeConfig, RulesJudgeConfig
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
