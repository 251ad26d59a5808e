"""Replay or reuse a run's steering: ``python -m fusion.steer --run-id ID --prompt N`` (the
question's SimpleQA index) or ``--position P`` (its row in the run's ``prompts.json``, 0-based).

Loads the prompt's steering vectors from the run's artifact alone (:mod:`fusion.tracking.vectors`), loads
the same model, and generates the steered answer again (the same tokens, on the same model in
float32). ``--question "..."`` applies that steering to another question; ``--strength-scale``
scales it. A vector file made for another model is refused with one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fusion.errors import one_line_errors


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
    """The SimpleQA index of the question at ``position`` of a run (the order of its prompts.json)."""
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fusion steer", description=__doc__.splitlines()[0])
    parser.add_argument("--run-id", required=True)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--prompt", "--index", type=int, help="the question's SimpleQA index (prompts.json: index)")
    which.add_argument("--position", type=int, help="the question's row in the run, 0-based (prompts.json: position)")
    parser.add_argument("--question", default=None, help="apply the steering to this question instead")
    parser.add_argument("--strength-scale", type=float, default=1.0, help="multiply every strength by this")
    parser.add_argument("--tracking-uri", default=None, help="default: $MLFLOW_TRACKING_URI, else this project's store")
    args = parser.parse_args(argv)
    with one_line_errors():
        if args.position is not None:
            index = prompt_at(args.run_id, args.position, args.tracking_uri)
            print(f"(position {args.position} of run {args.run_id}: SimpleQA index {index})", file=sys.stderr)
        else:
            index = args.prompt
            print(f"(SimpleQA index {index}; --position P picks a question by its row instead)", file=sys.stderr)
        answer, meta = replay(
            args.run_id,
            index,
            question=args.question,
            strength_scale=args.strength_scale,
            tracking_uri=args.tracking_uri,
        )
    print(answer)
    if args.question is None and args.strength_scale == 1.0:
        same = answer == meta["answer"]
        print(
            f"(the logged answer of run {args.run_id}, SimpleQA index {index}: {'identical' if same else 'DIFFERENT'})",
            file=sys.stderr,
        )
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
