"""Unsteered answers kept on disk, so that the jobs of a sweep (and a resumed job) do not generate
them again.

Every steered job answers all its prompts unsteered first: the baseline, the zero-steering control
and the explanation the reference is built from. Those tokens depend on neither the steering mode,
the target nor the search, so ``steering=full,segmented`` and the placebo compute the same answers;
on 2 CPU cores that is about 25 minutes per job on the paper's 260 questions. A batch's answers are
stored under a key of everything that decides its tokens: the model's identity and placement, the
library versions, the decoding settings and the batch's exact texts in order (a left-padded batch
can decode differently from its rows alone). A key that differs in anything is a miss, never a
near match, so a cached answer is the one the job would have generated.

The store is a folder of small JSON files beside the tracking store (``<store dir>/answers``);
deleting it only costs the time to regenerate. A file is written atomically and an unreadable one
counts as a miss. The reference means ``h_l`` of a text (a forward pass without hooks, the same for
every method that steers toward that reference: full, segmented, single_layer, the placebo's
partner, mean_diff's training fold) are kept there too, as ``.pt`` files under the same kind of key.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch


def batch_key(identity: Sequence[Any], texts: Sequence[str]) -> str:
    """The file name of a batch: a hash of what decides its tokens (``identity``) and its texts."""
    return hashlib.sha256(json.dumps([list(identity), list(texts)]).encode()).hexdigest()[:32]


class AnswerStore:
    """Unsteered answers (token ids per text of a batch) by :func:`batch_key`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, key: str, count: int) -> list[list[int]] | None:
        """The stored answers of a batch of ``count`` texts, or None (absent or unreadable)."""
        try:
            rows = json.loads((self.folder / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None
        if not (isinstance(rows, list) and len(rows) == count and all(isinstance(r, list) for r in rows)):
            return None
        return [[int(t) for t in r] for r in rows]

    def put(self, key: str, rows: Sequence[Sequence[int]]) -> None:
        with self._writing(f"{key}.json") as tmp:
            tmp.write_text(json.dumps([list(r) for r in rows]))

    def get_tensor(self, key: str, device: torch.device) -> torch.Tensor | None:
        """A stored tensor (reference means) on ``device``, or None (absent or unreadable)."""
        try:
            found = torch.load(self.folder / f"{key}.pt", map_location=device, weights_only=True)
        except (OSError, RuntimeError, ValueError, EOFError):
            return None
        return found if isinstance(found, torch.Tensor) else None

    def put_tensor(self, key: str, tensor: torch.Tensor) -> None:
        with self._writing(f"{key}.pt") as tmp:
            torch.save(tensor.detach().cpu(), tmp)

    @contextmanager
    def _writing(self, name: str) -> Iterator[Path]:
        """A temp file renamed to ``name`` once written: a parallel job or a kill never leaves half a file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=Path(name).suffix, dir=self.folder)
        os.close(fd)
        try:
            yield Path(tmp)
            os.replace(tmp, self.folder / name)
        finally:
            Path(tmp).unlink(missing_ok=True)
