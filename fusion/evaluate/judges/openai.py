"""The ``openai`` judge: the paper's rubrics sent to any OpenAI-compatible chat endpoint.

Works with OpenAI, Mistral (``https://api.mistral.ai/v1``, the authors' judge provider), vLLM,
llama.cpp, Ollama or a local ``transformers serve``. Each answer costs two chat calls (the grade
rubric and the 1-5 quality rubric, see ``rubrics.py``), at most ``concurrency`` in flight.

- **Key**: read from the environment variable named by ``api_key_env`` when the judge is built
  (so a missing key fails at job preparation, before any model loads); never taken from the
  config, never logged, never part of a message or repr. ``api_key_env: null`` is for servers
  that need none.
- **Retries**: connection errors, timeouts, HTTP 408, 429 and 5xx are retried ``max_retries``
  times with exponential backoff and jitter (``backoff * 2**attempt`` seconds, scaled by a random
  factor in [0.5, 1], at most 60 s; a 429's Retry-After is honoured). Other HTTP errors (bad key,
  unknown model) are not retried. Either way :class:`JudgeUnavailable` is raised with one line
  naming the endpoint, the last error and the fix: a run stops instead of recording made-up grades
  (the authors' notebook silently graded an API error as NOT_ATTEMPTED).
- **Cache**: every reply goes to a SQLite file (``cache``, see ``cache.py``) as soon as it
  arrives, so a rerun, a resumed run or the same answer in another job never calls the endpoint
  again for that grading. ``cache: null`` disables it.
"""

from __future__ import annotations

import math
import os
import random
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from fusion.config.judges import JudgeSpec
from fusion.errors import ConfigError, SetupError
from fusion.evaluate.judges import JudgeUnavailable
from fusion.evaluate.judges.cache import ReplyCache, reply_key
from fusion.evaluate.judges.rubrics import RUBRIC, Message, grades_from, rubric_calls
from fusion.records import Grade, GradeRequest

if TYPE_CHECKING:
    import openai

NO_KEY = "no-key"  # sent when api_key_env is null: the client insists on some key
MAX_DELAY = 60.0  # seconds; caps one backoff wait


@dataclass
class OpenAIJudgeConfig:
    """``judge=openai``: the paper's rubrics sent to any OpenAI-compatible chat endpoint."""

    name: str = "openai"
    base_url: str | None = None  # e.g. http://127.0.0.1:8000/v1 (required)
    model: str | None = None  # a model the endpoint serves (required)
    # the environment variable holding the key (never the key itself); null: no key
    api_key_env: str | None = "OPENAI_API_KEY"
    temperature: float = 0.0
    max_tokens: int = 256
    timeout: float = 60.0  # seconds per call
    max_retries: int = 4  # retries after the first attempt
    backoff: float = 1.0  # seconds before the first retry; doubles each time
    concurrency: int = 4  # calls in flight at once
    # SQLite file of replies: a rerun never pays twice for a grading; null: none
    reply_cache: str | None = "~/.cache/fusion/judge-cache.db"


# key, minimum, whether the minimum itself is refused
_BOUNDS = (
    ("temperature", 0, False),
    ("max_tokens", 1, False),
    ("timeout", 0, True),
    ("max_retries", 0, False),
    ("backoff", 0, False),
    ("concurrency", 1, False),
)


def check(judge: OpenAIJudgeConfig) -> None:
    """Values wrong for any endpoint; whether the key variable is set is checked when the judge is built."""
    if not (judge.base_url or "").strip():
        raise ConfigError(
            "judge.base_url: missing: set judge.base_url=http://127.0.0.1:8000/v1 (any OpenAI-compatible endpoint)"
        )
    if not str(judge.base_url).startswith(("http://", "https://")):
        raise ConfigError(f"judge.base_url: must start with http:// or https:// (got {judge.base_url!r})")
    if not (judge.model or "").strip():
        raise ConfigError(
            "judge.model: missing: set judge.model=<a model the endpoint serves, e.g. mistral-small-latest>"
        )
    env = judge.api_key_env
    if env is not None and (not env.strip() or "=" in env):
        raise ConfigError(
            "judge.api_key_env: must name an environment variable (e.g. OPENAI_API_KEY), or be null for no key"
        )
    for key, minimum, strict in _BOUNDS:
        value = getattr(judge, key)
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise ConfigError(f"judge.{key}: must be {'>' if strict else '>='} {minimum} (got {value})")
    if judge.reply_cache is not None and not judge.reply_cache.strip():
        raise ConfigError("judge.reply_cache: must be a file path or null")


def read_key(api_key_env: str | None) -> str | None:
    """The key from the environment; a one-line SetupError when the variable is unset or empty."""
    if api_key_env is None:
        return None
    key = os.environ.get(api_key_env, "")
    if not key:
        raise SetupError(
            f"judge.api_key_env: environment variable {api_key_env} is unset: export {api_key_env}=... "
            "(the key is read only from the environment; judge.api_key_env=null for a server without keys)"
        )
    return key


def _retryable(error: Exception) -> bool:
    import openai  # the client loads with the judge, not with the config (about 1 s)

    if isinstance(error, openai.APIConnectionError):  # includes APITimeoutError
        return True
    return isinstance(error, openai.APIStatusError) and (error.status_code in (408, 429) or error.status_code >= 500)


def _retry_after(error: Exception | None) -> float:
    """Seconds a 429 asks us to wait (Retry-After header), else 0."""
    response = getattr(error, "response", None)
    try:
        return float(response.headers.get("retry-after", 0)) if response is not None else 0.0
    except (TypeError, ValueError):  # an HTTP date instead of seconds: fall back to our backoff
        return 0.0


def _server_message(error: openai.APIStatusError) -> str:
    """What the server said: OpenAI's {"error": {"message"}}, FastAPI's {"detail"}, or raw text."""
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") if isinstance(inner, dict) else inner
        return str(text or body.get("detail") or error.message)
    return str(body or error.message)


class OpenAIJudge:
    """Grades through ``POST {base_url}/chat/completions``; see the module docstring."""

    rubric = RUBRIC

    def __init__(self, settings: OpenAIJudgeConfig) -> None:
        if not settings.base_url or not settings.model:  # validate() names the missing key first
            raise ConfigError("judge.base_url and judge.model are required for judge=openai")
        key = read_key(settings.api_key_env)
        self.settings = settings
        self.endpoint = settings.base_url.rstrip("/")
        self.model = settings.model
        self.name = f"openai:{self.model}@{urlsplit(self.endpoint).netloc or self.endpoint}"
        # the client's own retries are off: ours cover more cases, back off with jitter and report
        # one clear line when they run out
        from openai import OpenAI

        self._client = OpenAI(base_url=self.endpoint, api_key=key or NO_KEY, timeout=settings.timeout, max_retries=0)
        self._cache = ReplyCache(settings.reply_cache) if settings.reply_cache else None
        self._random = random.Random()  # jitter only; leaves the global random state alone

    def __repr__(self) -> str:
        return f"OpenAIJudge(name={self.name!r}, rubric={self.rubric!r})"

    def grade(self, requests: Sequence[GradeRequest]) -> list[Grade]:
        return grades_from(self._replies(rubric_calls(requests)), self.name)

    def _key(self, rubric: str, messages: list[Message]) -> str:
        s = self.settings
        return reply_key(self.endpoint, self.model, rubric, s.temperature, s.max_tokens, messages)

    def _replies(self, calls: list[tuple[str, list[Message]]]) -> list[str]:
        """One reply per call: from the cache, else from the endpoint (each distinct call once)."""
        keys = [self._key(rubric, messages) for rubric, messages in calls]
        found: dict[str, str] = {}
        if self._cache is not None:
            for key in dict.fromkeys(keys):
                reply = self._cache.get(key)
                if reply is not None:
                    found[key] = reply
        todo = {key: call for key, call in zip(keys, calls) if key not in found}  # identical answers: one call
        if todo:
            abort = threading.Event()  # set on the first failure: the other calls stop retrying
            pool = ThreadPoolExecutor(max_workers=min(self.settings.concurrency, len(todo)), thread_name_prefix="judge")
            try:
                futures = {
                    pool.submit(self._ask, rubric, messages, key, abort): key
                    for key, (rubric, messages) in todo.items()
                }
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                for future in done:
                    if future.exception() is not None:
                        raise future.exception()  # type: ignore[misc]
                found.update({futures[f]: f.result() for f in futures})
            finally:
                abort.set()  # after a failure or Ctrl-C, calls still in flight retry no more
                pool.shutdown(wait=True, cancel_futures=True)
        return [found[key] for key in keys]

    def _ask(self, rubric: str, messages: list[Message], key: str, abort: threading.Event) -> str:
        s = self.settings
        last: Exception | None = None
        import openai

        attempts = 0
        for attempt in range(s.max_retries + 1):
            if attempt:
                # jitter spreads the retries of parallel calls; a 429's Retry-After is a floor
                backoff = s.backoff * 2 ** (attempt - 1) * (0.5 + 0.5 * self._random.random())
                if abort.wait(min(MAX_DELAY, max(backoff, _retry_after(last)))):
                    break  # another call of this batch already failed for good (or Ctrl-C)
            attempts += 1
            try:
                response = self._client.chat.completions.create(
                    model=self.model,
                    messages=cast(Any, messages),  # plain role/content dicts, as the client accepts
                    temperature=s.temperature,
                    max_tokens=s.max_tokens,
                )
            except openai.APIError as error:
                if not _retryable(error):
                    raise self._unavailable(error, attempts) from None
                last = error
                continue
            try:
                reply = response.choices[0].message.content or ""  # None (e.g. a refusal): unparsed
            except (AttributeError, IndexError, TypeError):
                raise self._unavailable(None, attempts, "the endpoint answered without a chat message") from None
            if self._cache is not None:
                self._cache.put(key, reply, self.model, rubric)
            return reply
        raise self._unavailable(last, attempts)

    def _unavailable(self, error: Exception | None, attempts: int, detail: str = "") -> JudgeUnavailable:
        """One line: endpoint, attempts, last error (type, HTTP status, server message) and the fix.

        ``from None`` at the raise sites keeps the client's exception (which holds the request and
        its headers) out of tracebacks; the key is also scrubbed from the text, in case a server
        echoed it.
        """
        import openai

        s = self.settings
        status = getattr(error, "status_code", None)
        if error is not None:
            detail = type(error).__name__
            if isinstance(error, openai.APITimeoutError):
                detail += f" after judge.timeout={s.timeout:g}s"
            if isinstance(error, openai.APIStatusError):
                server = " ".join(_server_message(error).split())
                detail += f" (HTTP {status}: {server[:200]}" + ("...)" if len(server) > 200 else ")")
        if status in (401, 403):
            fix = (
                f"the endpoint refused the key in ${s.api_key_env}: check it"
                if s.api_key_env
                else "the endpoint needs a key: set judge.api_key_env to the variable holding it"
            )
        elif status == 404:
            fix = (
                "check judge.model and judge.base_url (OpenAI-compatible servers answer under a base URL ending in /v1)"
            )
        elif status is not None and status < 500 and status not in (408, 429):
            fix = "the endpoint rejected the request: check judge.model, judge.max_tokens and judge.temperature"
        else:
            fix = "check judge.base_url (is the server up?) or raise judge.max_retries, judge.backoff or judge.timeout"
        text = (
            f"judge endpoint {self.endpoint} (model {s.model}) unavailable after {attempts} attempt(s): {detail}; {fix}"
        )
        text = " ".join(text.split())
        secret = self._client.api_key
        if secret and secret != NO_KEY:
            text = text.replace(secret, "***")
        return JudgeUnavailable(text)


JUDGE = JudgeSpec(
    name="openai",
    summary="the paper's rubrics sent to any OpenAI-compatible chat endpoint",
    schema=OpenAIJudgeConfig,
    build=OpenAIJudge,  # reads the key: an unset variable fails here
    check=check,
)
