"""``python -m fusion.run [overrides]``, the project's canonical command: the same as ``fusion run``
(:mod:`fusion.commands.run` holds it)."""

if __name__ == "__main__":
    import sys

    from fusion.commands.run import main

    sys.exit(main())
