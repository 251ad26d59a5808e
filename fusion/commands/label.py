"""``fusion label``: label exported answers on a local page, one at a time, by the rubric."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "label exported answers (fusion adjudicate's batch) on a local page in the browser, by the rubric"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fusion label",
        description="Serve a page on 127.0.0.1 that shows exported answers one at a time, blind, and writes "
        "each label to the labels file `fusion report --labels` reads. Closing the page or stopping the "
        "server loses nothing: the same command resumes with the next unlabelled item.",
    )
    parser.add_argument("items", type=Path, help="the items to label (pending-NNNN.jsonl from fusion adjudicate)")
    parser.add_argument("--labeller", required=True, help="your name or initials, recorded with every label")
    parser.add_argument(
        "--out", type=Path, default=None, help="the labels file (default: labels.jsonl beside the items)"
    )
    parser.add_argument("--port", type=int, default=8765, help="the page's port on 127.0.0.1 (0: any free port)")
    args = parser.parse_args(argv)

    from fusion.errors import one_line_errors, sigterm_as_interrupt
    from fusion.evaluate.label_server import serve
    from fusion.evaluate.labelling import LabelStore, read_items, rubric

    with one_line_errors(), sigterm_as_interrupt():
        current = rubric()
        store = LabelStore(
            read_items(args.items), args.out or args.items.parent / "labels.jsonl", args.labeller, current.version
        )
        left = len(store.items) - len(store.done)

        def ready(url: str) -> None:
            print(f"labelling page: {url} ({left} of {len(store.items)} items left for {args.labeller}, "
                  f"rubric {current.version}; labels go to {store.out}; Ctrl-C stops)", flush=True)  # fmt: skip

        try:
            serve(store, current, args.port, ready)
        except KeyboardInterrupt:
            print(f"stopped: {len(store.done)} of {len(store.items)} labelled (the same command resumes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
