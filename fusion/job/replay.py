"""Replay or reuse a run's steering (``fusion steer``): the steered answer of one question of a
run, generated again from the run's steering-vector artifact alone (:mod:`fusion.tracking.vectors`)
on the same model, or that steering applied to another question.
"""

from __future__ import annotations

from pathlib import Path


def replay(
    run_id: str,
    prompt: int,
    *,
    question: str | None = None,
    strength_scale: float = 1.0,
    tracking_uri: str | None = None,
    weights_cache_dir: str | None = "~/.cache/fusion/models",
) -> tuple[str, dict]:
    """The steered answer (and the vectors' index) of ``prompt`` of ``run_id``, or of ``question``."""
    from fusion.config.schema import ModelConfig, QuantizationConfig
    from fusion.evaluate.answer_end import cut_answer
    from fusion.job.answering import stop_strings
    from fusion.model.generation import encode, eos_ids, greedy
    from fusion.model.loading import load_configured
    from fusion.model.prompts import render_user
    from fusion.model.steering import steering
    from fusion.tracking.vectors import load_steering

    vectors = load_steering(run_id, prompt, tracking_uri).scaled(strength_scale)
    meta = vectors.meta
    cache = Path(weights_cache_dir).expanduser() if weights_cache_dir else None
    loaded = load_configured(ModelConfig(**meta["model_config"]), QuantizationConfig(**meta["quantization"]), cache)
    vectors.check_model(loaded.source.identity, loaded.num_layers, loaded.hidden_size)
    text = meta["steer_text"]
    if question is not None:
        text = render_user(loaded.tokenizer, meta["steer_template"].format(question=question), meta["chat_template"])
    cached = meta["decoding"] == "cached"
    # where the run's answers ended; vectors saved before stop strings existed: none, as generated
    stops: list[str] = meta.get("stop_strings", [])
    additive = meta.get("update") == "add"  # a steering vector added (mean_diff), not a move toward it
    with steering(
        loaded.decoder_layers, vectors.targets.to(loaded.device), vectors.strengths, cached=cached, additive=additive
    ) as session:
        (ids,) = greedy(
            loaded.model,
            encode(loaded.tokenizer, [text]),
            max_new_tokens=meta["max_new_tokens"],
            stop_ids=eos_ids(loaded.model, loaded.tokenizer),
            session=session,
            use_cache=cached,
            stop_strings=stop_strings(loaded.tokenizer, stops),
        )
    return cut_answer(str(loaded.tokenizer.decode(ids, skip_special_tokens=True)), stops).strip(), meta


def prompt_at(run_id: str, position: int, tracking_uri: str | None = None) -> int:
    """The row index (Prompt.index) of the question at ``position`` of a run (the order of its prompts.json)."""
    from mlflow.tracking import MlflowClient

    from fusion.errors import SetupError
    from fusion.tracking.runs import read_table
    from fusion.tracking.stores import default_tracking_uri

    rows = read_table(MlflowClient(tracking_uri=tracking_uri or default_tracking_uri()), run_id, "prompts.json")
    for row in rows:
        if row["position"] == position:
            return int(row["index"])
    positions = sorted(r["position"] for r in rows)
    have = f"positions {positions[0]}..{positions[-1]}" if positions else "no finished prompts"
    raise SetupError(f"run {run_id} has no prompt at position {position} ({have}): pass --position within them")
