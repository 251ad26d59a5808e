"""Build a judge from its typed config node (``judge.name`` picks the implementation).

The node's keys and values were checked at composition and by :func:`fusion.config.validate`;
what is left here is what needs the outside world: the key variable and the judge's model.
Cheap: it runs while a job is prepared, before any model loads.
"""

from __future__ import annotations

from fusion.judges import Judge
from fusion.schema import HFJudgeConfig, OpenAIJudgeConfig, RulesJudgeConfig


def make_judge(cfg: object) -> Judge:
    """``cfg`` is a judge schema node (None: the rules judge)."""
    if cfg is None or isinstance(cfg, RulesJudgeConfig):
        from fusion.judges.rules import RulesJudge

        return RulesJudge()
    if isinstance(cfg, OpenAIJudgeConfig):
        from fusion.judges.openai import OpenAIJudge

        return OpenAIJudge(cfg)  # reads the key: an unset variable fails here
    if isinstance(cfg, HFJudgeConfig):
        from fusion.config import named_model_config
        from fusion.judges.hf import HFJudge

        return HFJudge(named_model_config(cfg.model), cfg)
    raise TypeError(f"not a judge config: {cfg!r}")
