"""A SQLite cache of judge replies, so a rerun never pays an endpoint twice for the same grading.

One row per (endpoint, model, rubric, sampling settings, exact messages): the key is the sha256
of all of them, so any change to a rubric text, the model or ``max_tokens`` misses the cache
instead of returning a reply to a different question. The raw reply is stored, not the parsed
grade: the parsers in ``rubrics.py`` run again on every read.

Safe across threads (one connection per thread) and processes (SQLite's own locking in WAL mode,
with a generous busy timeout for parallel Hydra jobs sharing one file).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from fusion.errors import SetupError
from fusion.evaluate.judges.rubrics import Message

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY,
    reply TEXT NOT NULL,
    model TEXT NOT NULL,
    rubric TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def reply_key(
    base_url: str, model: str, rubric: str, temperature: float, max_tokens: int, messages: Sequence[Message]
) -> str:
    """sha256 over everything that decides a reply (the key is never part of it)."""
    payload = {
        "base_url": base_url.rstrip("/"),
        "model": model,
        "rubric": rubric,
        "temperature": float(temperature),
        "max_tokens": int(max_tokens),
        "messages": [dict(m) for m in messages],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class ReplyCache:
    """``get``/``put`` replies by :func:`reply_key`; creating it checks that the file is writable."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = self._connection()
            connection.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
            connection.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise SetupError(
                f"judge.reply_cache: cannot use {self.path} ({type(error).__name__}: {error}): "
                "set judge.reply_cache to a writable file or null to disable the cache"
            ) from None

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # autocommit (isolation_level=None): every put is its own short transaction
            connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._local.connection = connection
        return connection

    def get(self, key: str) -> str | None:
        row = self._connection().execute("SELECT reply FROM replies WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def put(self, key: str, reply: str, model: str, rubric: str) -> None:
        # first writer wins: a parallel job that graded the same answer wrote the same question
        self._connection().execute(
            "INSERT OR IGNORE INTO replies (key, reply, model, rubric, created) VALUES (?, ?, ?, ?, ?)",
            (key, reply, model, rubric, time.time()),
        )

    def __len__(self) -> int:
        return self._connection().execute("SELECT COUNT(*) FROM replies").fetchone()[0]
