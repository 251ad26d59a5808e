"""Layer groups: cutting a model's decoder layers at ``steering.boundaries``, and their tag form."""

from __future__ import annotations

from collections.abc import Sequence

from fusion.errors import ConfigError


def segment_bounds(num_layers: int, boundaries: Sequence[int] | None) -> list[range]:
    """Cut ``range(num_layers)`` at ``boundaries``; ``None`` gives thirds of the model.

    >>> segment_bounds(30, [10, 20])
    [range(0, 10), range(10, 20), range(20, 30)]
    """
    if boundaries is None:
        boundaries = [round(num_layers / 3), round(2 * num_layers / 3)]
    cuts = [0, *boundaries, num_layers]
    if any(b <= a for a, b in zip(cuts, cuts[1:])):
        raise ConfigError(
            f"steering.boundaries={list(boundaries)} must be strictly increasing and inside "
            f"1..{num_layers - 1} for a model with {num_layers} layers"
        )
    return [range(a, b) for a, b in zip(cuts, cuts[1:])]


def segments_tag(segments: Sequence[range]) -> str:
    """The run tag ``fusion.segments``: ``0-9,10-19,20-29`` (first and last layer of each)."""
    return ",".join(f"{s.start}-{s.stop - 1}" for s in segments)


def parse_segments_tag(tag: str) -> list[range]:
    """The inverse of :func:`segments_tag`."""
    return [range(int(a), int(b) + 1) for a, b in (part.split("-") for part in tag.split(",") if part)]
