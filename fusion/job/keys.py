"""What identifies a job: its key (resuming finds the run and the studies by it), its run name,
and the tags that say how its run was made."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fusion.config.schema import JobConfig
from fusion.evaluate.answer_end import answer_stops
from fusion.job.preflight import Prepared
from fusion.job.runner import PromptRunner
from fusion.methods import resolve
from fusion.methods.segments import segments_tag
from fusion.records import Prompt
from fusion.tracking.datasets import prompt_digest
from fusion.tracking.runs import environment_tags

# how a judge is reached, not what it grades: changing these resumes the same job
_JUDGE_TRANSPORT = (
    "concurrency",
    "timeout",
    "max_retries",
    "backoff",
    "reply_cache",
    "api_key_env",
    "batch_size",
    "weights_cache_dir",
)
# where a job runs and how fast, not what it computes (packing and placement change no answer in
# float32; a device or precision change is recorded in the run's tags)
_PLACEMENT = {"model": ("device", "device_map"), "search": ("max_batch_rows",)}


def job_key(resolved_config: dict[str, Any]) -> str:
    """Identifies a job for resuming: everything in its config but where it is logged and how its
    judge is reached."""
    relevant = {k: v for k, v in resolved_config.items() if k not in ("tracking", "weights_cache_dir")}
    if isinstance(relevant.get("judge"), dict):
        relevant["judge"] = {k: v for k, v in relevant["judge"].items() if k not in _JUDGE_TRANSPORT}
    for group, keys in _PLACEMENT.items():
        if isinstance(relevant.get(group), dict):
            relevant[group] = {k: v for k, v in relevant[group].items() if k not in keys}
    prompts = relevant.get("prompts")
    if isinstance(prompts, dict) and "stop_strings" in prompts:
        # the stops as applied, and only where there are any: a job inside a chat template keeps
        # the key it had before prompts.stop_strings existed (and resumes such a run)
        stops = answer_stops(prompts["stop_strings"], bool(prompts.get("chat_template")))
        relevant["prompts"] = {k: v for k, v in prompts.items() if k != "stop_strings"}
        if stops:
            relevant["prompts"]["stop_strings"] = list(stops)
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


def default_run_name(job: JobConfig) -> str:
    """What tells runs apart in MLflow's tables: method, the placebo target, decoding, objective, seed
    (``full-shuffled-cached-fluent-s0-smollm2_135m``; the baseline searches nothing: ``baseline-smollm2_135m``)."""
    target = ["shuffled"] if job.steering.target == "shuffled" else []
    if not resolve(job.steering, job.steering.plugin).spec.searched:  # decoding, objective and seed change nothing
        return "-".join([job.steering.mode, *target, job.model.name])
    if job.search.strengths is not None or job.search.strengths_from is not None:  # no search: no objective, no seed
        # strengths reduced from an earlier job say by which rule, as the report's groups do
        fixed = "fixed" if job.search.strengths is not None else f"fixed-{job.search.strengths_rule}"
        return "-".join([job.steering.mode, *target, job.steering.decoding, fixed, job.model.name])
    parts = [job.steering.mode, *target, job.steering.decoding, job.search.objective, f"s{job.search.seed}"]
    return "-".join([*parts, job.model.name])


def run_tags(
    job: JobConfig, prepared: Prepared, runner: PromptRunner, prompts: list[Prompt], sweep_id: str
) -> dict[str, str]:
    """What the run says about how it was made; the report groups and labels runs by these."""
    loaded, scorer = runner.loaded, runner.scorer
    placement = loaded.placement
    return {
        "fusion.mode": job.steering.mode,
        # the method's spec: the report reads what the method is from here, not from its name
        "fusion.method": runner.method.spec.tag(),
        "fusion.model": job.model.name,
        "fusion.model_identity": prepared.source.identity,
        "fusion.quantization": job.quantization.name,
        "fusion.judge": prepared.judge.name,
        "fusion.perplexity_model": scorer.source.identity if scorer else "loaded model",
        "fusion.sweep_id": sweep_id or "none",
        "fusion.steering_exact": str(job.steering.decoding == "exact").lower(),
        "fusion.steering_target": job.steering.target,
        "fusion.segments": segments_tag(runner.segments),
        "fusion.device": str(loaded.device) + (f" (device_map={job.model.device_map})" if job.model.device_map else ""),
        "fusion.device_name": placement.name,
        "fusion.dtype": placement.dtype_name,
        "fusion.linear_kernels": placement.linear,
        "fusion.batch_rows": str(runner.prompts_per_pack() * runner.rows_per_prompt()),
        # fixed strengths (no search), as applied: "" for a per-question search
        "fusion.fixed_strengths": json.dumps(prepared.fixed_strengths) if prepared.fixed_strengths is not None else "",
        # where answers end (prompts.stop_strings as applied; [] inside a chat template): regrading reads it
        "fusion.stop_strings": json.dumps(list(runner.stops)),
        "fusion.dataset": f"{job.data.name}:{len(prompts)}:{prompt_digest(prompts)}",  # the dataset input's digest
        **environment_tags(),
    }
