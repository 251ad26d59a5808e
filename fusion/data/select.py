"""Which rows of a question set a job asks: an index file, offset, limit, shards; the held-out check."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from fusion.data.spec import SetSpec
from fusion.errors import SetupError
from fusion.records import Prompt

RESOURCES = Path(__file__).resolve().parents[1] / "resources"


def load_index_file(name_or_path: str | Path) -> list[int]:
    """A JSON list of a set's row indices. A bare name (``paper260``) means the packaged
    ``fusion/resources/<name>.json``, so configs need no path that depends on the checkout."""
    path = Path(name_or_path)
    if str(name_or_path) == path.name and not path.suffix:
        path = RESOURCES / f"{name_or_path}.json"
    if not path.is_file():
        raise SetupError(f"data.index_file={name_or_path}: no file {path} (give a JSON path or a name in {RESOURCES})")
    indices = json.loads(path.read_text())
    if not isinstance(indices, list) or not all(type(i) is int for i in indices):
        raise SetupError(f"data.index_file={name_or_path}: {path} must hold a JSON list of integers")
    return indices


def select_prompts(
    prompts: Sequence[Prompt],
    *,
    indices: Sequence[int] | None = None,
    offset: int = 0,
    limit: int | None = None,
    shard: int = 0,
    num_shards: int = 1,
) -> list[Prompt]:
    """Explicit ``indices`` (in their order) or all rows, then ``offset``/``limit``, then one shard.

    ``indices`` are row indices (:attr:`Prompt.index`: the row in the set's source; for a subset of
    another set's rows, such as paper260, the other set's row). Shards are contiguous slices of the selection
    whose sizes differ by at most one (the first ``len % num_shards`` shards get the extra prompt), so
    concatenating the shards' results in shard order gives the unsharded order back. A shard may be
    empty when there are more shards than prompts.
    """
    # ranges of limit, offset and shard are checked with the config (fusion.config.compose.validate)
    if indices is not None:
        by_index = {p.index: p for p in prompts}
        bad = [i for i in indices if i not in by_index]
        if bad:
            span = f"{min(by_index)}..{max(by_index)}" if by_index else "none"
            raise SetupError(
                f"data.index_file: indices {bad[:5]} are not rows of the set (its {len(by_index)} rows: {span})"
            )
        repeated = sorted(i for i, n in Counter(indices).items() if n > 1)
        if repeated:
            raise SetupError(f"data.index_file: indices {repeated[:5]} appear more than once; list each once")
        chosen = [by_index[i] for i in indices]
    else:
        chosen = list(prompts)
    if chosen and offset >= len(chosen):
        raise SetupError(f"data.offset={offset} is past the end of the selection ({len(chosen)} prompts): lower it")
    chosen = chosen[offset:]
    if limit is not None:
        chosen = chosen[:limit]
    size, extra = divmod(len(chosen), num_shards)
    start = shard * size + min(shard, extra)
    return chosen[start : start + size + (shard < extra)]


def check_held_out(spec: SetSpec, prompts: Sequence[Prompt], allowed: bool) -> None:
    """A selection that asks for rows the set holds out for the project's acceptance checks fails,
    unless ``data.allow_held_out=true`` says the run is one of those checks."""
    held = [p.index for p in prompts if spec.holds_out(p.index)]
    if held and not allowed:
        raise SetupError(
            f"data: {spec.name} rows {spec.held_out_text()} are held out for the acceptance checks and this "
            f"selection asks for {len(held)} of them (first: row {held[0]}): select other rows with "
            "data.offset/data.limit/data.index_file, or set data.allow_held_out=true for an acceptance check"
        )
