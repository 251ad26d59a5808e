"""The labelling page: a local HTTP server (stdlib, loopback only) in front of a ``LabelStore``.

``GET /`` is the page (``fusion/resources/label.html``, ``label.js``, ``label.css``);
``GET /api/state`` gives the rubric, the progress and the next item; ``POST /api/label`` writes
one label and answers with the new state. The page holds nothing of its own: a reload, another
browser or a restarted server shows the same next item.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from fusion.errors import ConfigError, SetupError
from fusion.evaluate.hand_labels import LANGUAGE, VERDICTS
from fusion.evaluate.labelling import LabelStore, Rubric

STATIC = {
    "/": ("label.html", "text/html; charset=utf-8"),
    "/label.js": ("label.js", "text/javascript; charset=utf-8"),
    "/label.css": ("label.css", "text/css; charset=utf-8"),
}
# a label's fields, each with its shortcut keys; "b" is borderline in both
KEYS = {
    "verdict": dict(zip(VERDICTS, "cinb", strict=True)),
    "language": dict(zip(LANGUAGE, "fgb", strict=True)),
}


def _handler(store: LabelStore, rubric: Rubric) -> type[BaseHTTPRequestHandler]:
    fixed = {"rubric": {"version": rubric.version, "html": rubric.html()}, "keys": KEYS}

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/api/state":
                self._json(HTTPStatus.OK, {**fixed, **asdict(store.state())})
            elif path in STATIC:
                name, kind = STATIC[path]
                self._send(HTTPStatus.OK, resources.files("fusion").joinpath(f"resources/{name}").read_bytes(), kind)
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {path}"})

        def do_POST(self) -> None:
            if self.path != "/api/label":
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {self.path}"})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if not isinstance(body, dict):
                    raise ConfigError("a label is a JSON object")
                store.write(
                    str(body.get("id")),
                    str(body.get("verdict")),
                    str(body.get("language")),
                    str(body.get("note") or ""),
                )
            except (ConfigError, ValueError) as e:  # the page shows it; the labels file is untouched
                self._json(HTTPStatus.BAD_REQUEST, {**fixed, **asdict(store.state()), "error": str(e)})
                return
            self._json(HTTPStatus.OK, {**fixed, **asdict(store.state())})

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
            pass  # one line per request would bury the page's address

    return Handler


def make_server(store: LabelStore, rubric: Rubric, port: int) -> ThreadingHTTPServer:
    """The page's server on 127.0.0.1:``port`` (0: a free port), listening, not yet serving."""
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), _handler(store, rubric))
    except OSError as e:
        raise SetupError(f"--port {port}: cannot listen on 127.0.0.1 ({e.strerror}): pass another port, or 0") from e


def serve(store: LabelStore, rubric: Rubric, port: int, ready: Callable[[str], None]) -> None:
    """Serve the page until interrupted; ``ready`` gets its address once it listens."""
    server = make_server(store, rubric, port)
    try:
        ready(f"http://127.0.0.1:{server.server_address[1]}/")
        server.serve_forever()
    finally:
        server.server_close()
