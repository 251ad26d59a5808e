"""The ``fusion`` command: ``fusion COMMAND [ARGS]``, one module of :mod:`fusion.commands` each.

``fusion run steering=segmented -m`` is ``python -m fusion.run steering=segmented -m``; a command's
module is imported only when it runs (and imports its own heavy parts inside ``main``), so
``fusion --help`` and ``fusion X --help`` are instant.
"""

from __future__ import annotations

import sys

from fusion import commands


def usage() -> str:
    from fusion import __version__

    helps = {name: commands.load(name).HELP for name in commands.names()}
    width = max(map(len, helps))
    lines = [f"usage: fusion COMMAND [ARGS]   (fusion-steering {__version__})", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, text in helps.items()]
    lines += ["", "fusion COMMAND --help shows a command's own options (fusion run --help: Hydra's)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0
    if args[0] not in commands.names():
        known = ", ".join(commands.names())
        print(f"fusion: no command {args[0]!r}: use one of {known} (fusion --help)", file=sys.stderr)
        return 2
    return commands.load(args[0]).main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
