"""What identifies a job: its key (resuming finds the run and the studies by it) and its run name."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fusion.config.schema import JobConfig
from fusion.evaluate.answer_end import answer_stops
from fusion.methods import resolve

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
_PLACEMENT = {
    "model": ("device", "device_map"),
    "search": ("max_batch_rows", "drop_finished", "in_place_cache", "studies_in_memory"),
}


def job_key(resolved_config: dict[str, Any]) -> str:
    """Identifies a job for resuming: everything in its config but where it is logged and how its
    judge is reached."""
    relevant = {k: v for k, v in resolved_config.items() if k not in ("tracking", "weights_cache_dir")}
    if isinstance(relevant.get("judge"), dict):
        relevant["judge"] = {k: v for k, v in relevant["judge"].items() if k not in _JUDGE_TRANSPORT}
    for group, keys in _PLACEMENT.items():
        if isinstance(relevant.get(group), dict):
            relevant[group] = {k: v for k, v in relevant[group].items() if k not in keys}
    if relevant.get("reference") == {"name": "gold_explanation", "plugin": None}:
        del relevant["reference"]  # the default keeps the key jobs had before the reference group existed
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
