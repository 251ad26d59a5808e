"""The tags that say how a job's run was made: the report groups and labels runs by them."""

from __future__ import annotations

import json

from fusion.config.schema import JobConfig
from fusion.job.preflight import Prepared
from fusion.job.runner import PromptRunner
from fusion.methods.segments import segments_tag
from fusion.records import Prompt
from fusion.tracking.datasets import prompt_digest
from fusion.tracking.environment import environment_tags


def run_tags(
    job: JobConfig, prepared: Prepared, runner: PromptRunner, prompts: list[Prompt], sweep_id: str
) -> dict[str, str]:
    """What the run says about how it was made; the report groups and labels runs by these."""
    loaded, scorer = runner.loaded, runner.answerer.scorer
    placement = loaded.placement
    return {
        "fusion.mode": job.steering.mode,
        # the method's spec: the report reads what the method is from here, not from its name
        "fusion.method": runner.method.spec.tag(),
        # a plug-in's import path (steering.plugin): the report draws its layer profile with its code
        "fusion.plugin": job.steering.plugin or "",
        "fusion.model": job.model.name,
        "fusion.model_identity": prepared.source.identity,
        "fusion.quantization": job.quantization.name,
        "fusion.judge": prepared.judge.name,
        "fusion.perplexity_model": scorer.source.identity if scorer else "loaded model",
        "fusion.sweep_id": sweep_id or "none",
        "fusion.steering_exact": str(job.steering.decoding == "exact").lower(),
        "fusion.steering_target": job.steering.target,
        # what the target is built from, and whether anything before grading read the gold
        "fusion.reference": runner.answerer.reference.spec.name,
        "fusion.oracle": "yes" if runner.answerer.reference.spec.oracle else "no",
        "fusion.segments": segments_tag(runner.segments),
        "fusion.device": str(loaded.device) + (f" (device_map={job.model.device_map})" if job.model.device_map else ""),
        "fusion.device_name": placement.name,
        "fusion.dtype": placement.dtype_name,
        "fusion.linear_kernels": placement.linear,
        "fusion.batch_rows": str(runner.prompts_per_pack() * runner.rows_per_prompt()),
        # fixed strengths (no search), as applied: "" for a per-question search
        "fusion.fixed_strengths": json.dumps(prepared.fixed_strengths) if prepared.fixed_strengths is not None else "",
        # where answers end (prompts.stop_strings as applied; [] inside a chat template): regrading reads it
        "fusion.stop_strings": json.dumps(list(runner.answerer.stops)),
        "fusion.dataset": f"{job.data.name}:{len(prompts)}:{prompt_digest(prompts)}",  # the dataset input's digest
        **environment_tags(),
    }
