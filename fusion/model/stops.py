"""Where a generated row's text reaches a stop string (a base model's next question frame, see
:mod:`fusion.evaluate.answer_end`): the generation loop (:mod:`fusion.model.generation`) asks after
every new token."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from transformers import PreTrainedTokenizerBase


class StopStrings:
    """Ends a row once its decoded continuation holds a stop string: where exactly is told by
    ``find`` (the text's end of answer, or None), e.g. :func:`fusion.evaluate.answer_end.find_stop`.

    Cheap per step: each new token's text (decoded alone, once per token id) is appended to a
    rolling tail of the row's last characters, and only a tail that shows a new stop is checked
    with ``find`` on the decoded continuation. A stop ends the row at the token where its text
    starts: the tokens of the stop itself are dropped, so the answer and its perplexity never see
    the frame.
    """

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, stops: Sequence[str], find: Callable[[str], int | None]
    ) -> None:
        self.tokenizer, self.find = tokenizer, find
        self.stops = tuple(s for s in stops if s)
        self._keep = max((len(s) for s in self.stops), default=1) - 1  # tail characters kept between steps
        self._pieces: dict[int, str] = {}

    def _decode(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=True))

    def advance(self, tail: str, token: int) -> tuple[str, bool]:
        """The row's new tail after ``token``, and whether a stop may end with it."""
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = self._decode([token])
        text = tail + piece
        hit = any(text.find(s, max(0, len(tail) - len(s) + 1)) >= 0 for s in self.stops)
        return (text[-self._keep :] if self._keep else ""), hit

    def end(self, ids: list[int]) -> int | None:
        """How many of ``ids`` to keep when their text holds a stop (the tokens that start before
        it), or None when it does not (a stop at the answer's start, or a false alarm)."""
        at = self.find(self._decode(ids))
        if at is None:
            return None
        keep = len(ids)
        while keep > 1 and len(self._decode(ids[: keep - 1])) >= at:
            keep -= 1
        return keep
