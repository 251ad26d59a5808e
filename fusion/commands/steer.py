"""``fusion steer``: replay or reuse a run's steering.

``fusion steer --run-id ID --prompt N`` (the question's row index in its set) or ``--position P`` (its row
in the run's ``prompts.json``, 0-based) loads the prompt's steering vectors from the run's artifact
alone, loads the same model, and generates the steered answer again (the same tokens, on the same
model in float32). ``--question "..."`` applies that steering to another question; ``--strength-scale``
scales it. A vector file made for another model is refused with one line. The work is
:mod:`fusion.job.replay`'s.
"""

from __future__ import annotations

import argparse
import sys

HELP = "replay a run's steering vectors on one question"
DESCRIPTION = (
    "Replay or reuse a run's steering: load one question's steering vectors from the run's artifact, "
    "load the same model and generate the steered answer again (exit 1 if it differs from the logged one), "
    "or apply that steering to another question."
)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusion steer", description=DESCRIPTION)
    parser.add_argument("--run-id", required=True, help="the MLflow run whose steering vectors are replayed")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--prompt", "--index", type=int, help="the question's row index in its set (prompts.json: index)"
    )
    which.add_argument("--position", type=int, help="the question's row in the run, 0-based (prompts.json: position)")
    parser.add_argument("--question", default=None, help="apply the steering to this question instead")
    parser.add_argument("--strength-scale", type=float, default=1.0, help="multiply every strength by this")
    parser.add_argument("--tracking-uri", default=None, help="default: $MLFLOW_TRACKING_URI, else this project's store")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from fusion.errors import one_line_errors
    from fusion.job.replay import prompt_at, replay

    with one_line_errors():
        if args.position is not None:
            index = prompt_at(args.run_id, args.position, args.tracking_uri)
            print(f"(position {args.position} of run {args.run_id}: row index {index})", file=sys.stderr)
        else:
            index = args.prompt
            print(f"(row index {index}; --position P picks a question by its row instead)", file=sys.stderr)
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
            f"(the logged answer of run {args.run_id}, row index {index}: {'identical' if same else 'DIFFERENT'})",
            file=sys.stderr,
        )
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
