"""The ``fusion`` command: ``fusion run|report|grade|adjudicate|study|steer|studies|bench|parity [ARGS]``.

Each subcommand is the module entry point of the same name with the rest of the command line
(``fusion run steering=segmented -m`` is ``python -m fusion.run steering=segmented -m``); the
modules are imported only when their subcommand runs, so ``fusion --help`` is instant.
"""

from __future__ import annotations

import importlib
import sys

# subcommand -> (module, function, one line of help)
COMMANDS = {
    "run": (
        "fusion.run",
        "cli",
        "one Fusion Steering job, or a sweep with -m (Hydra overrides, e.g. steering=segmented)",
    ),
    "report": ("fusion.report.build", "main", "the paper-style report of finished runs, or of an answers file"),
    "grade": ("fusion.grade", "main", "grade answers made elsewhere (JSONL: question, gold, answer) with the judge"),
    "adjudicate": (
        "fusion.report.adjudication",
        "main",
        "export the judge's strict positives that no person has labelled, blind, for hand labels",
    ),
    "study": (
        "fusion.study",
        "main",
        "the controlled comparison in one command: baseline, in_context, full, segmented, single_layer, mean_diff, placebo",
    ),
    "steer": ("fusion.steer", "main", "replay a run's steering vectors on one question"),
    "studies": ("fusion.tracking.studies", "main", "the Optuna study file of a job (for optuna-dashboard)"),
    "bench": ("fusion.bench.cli", "main", "speed benchmarks (CPU pipeline; --random-weights ARCH --device cuda)"),
    "parity": ("fusion.parity", "main", "our scoring and judge against the paper's published files"),
}


def usage() -> str:
    from fusion import __version__

    width = max(map(len, COMMANDS))
    lines = [f"usage: fusion COMMAND [ARGS]   (fusion-steering {__version__})", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, _, text) in COMMANDS.items()]
    lines += ["", "fusion COMMAND --help shows a command's own options (fusion run --help: Hydra's)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0
    if args[0] not in COMMANDS:
        print(f"fusion: no command {args[0]!r}: use one of {', '.join(COMMANDS)} (fusion --help)", file=sys.stderr)
        return 2
    module, function, _ = COMMANDS[args[0]]
    entry = getattr(importlib.import_module(module), function)
    if function == "cli":  # Hydra reads sys.argv itself
        sys.argv = [f"fusion {args[0]}", *args[1:]]
        entry()
        return 0
    return int(entry(args[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
