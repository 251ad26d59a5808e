"""Tracking stores and study databases are checked before the model loads, in seconds."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fusion.errors import SetupError
from fusion.tracking.stores import check_study_storage, check_tracking_store, file_store_opens, redact


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def http_server(status: int, body: bytes) -> Iterator[str]:
    """A real HTTP server on loopback answering every GET with ``status`` and ``body``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: the case that used to keep a job waiting for minutes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_redact_hides_only_the_password():
    assert redact("postgresql://fusion:s3cret@db:5432/optuna") == "postgresql://fusion:***@db:5432/optuna"
    assert redact("http://host:5000") == "http://host:5000"


def test_a_sqlite_store_whose_folder_cannot_be_made_fails(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SetupError, match=r"tracking.uri=sqlite:///.*cannot create .*fix tracking.uri"):
        check_tracking_store(f"sqlite:///{blocker}/sub/mlflow.db", 1.0)
    check_tracking_store(f"sqlite:///{tmp_path}/new/mlflow.db", 1.0)  # a folder that can be made passes
    assert (tmp_path / "new").is_dir()


def test_a_folder_store_names_the_sqlite_uri_where_mlflow_refuses_folders(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    if file_store_opens():
        pytest.skip("the installed MLflow still opens folder stores")
    with pytest.raises(
        SetupError, match=rf"MLFLOW_ALLOW_FILE_STORE=true: use tracking.uri=sqlite:///{tmp_path}/runs/mlflow.db"
    ):
        check_tracking_store(str(tmp_path / "runs"), 1.0)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    check_tracking_store(f"file:{tmp_path / 'runs'}", 1.0)  # the user opted in: a writable folder passes


def test_a_tracking_server_that_is_not_there_fails_fast():
    uri = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(SetupError, match="no MLflow server answered within 2 s"):
        check_tracking_store(uri, 2.0)
    assert time.monotonic() - start < 2.5


def test_a_server_that_never_answers_fails_at_the_timeout():
    with silent_server() as uri:
        start = time.monotonic()
        with pytest.raises(SetupError, match=r"no MLflow server answered within 0.5 s"):
            check_tracking_store(uri, 0.5)
        assert time.monotonic() - start < 2.0


def test_a_server_that_is_not_mlflow_is_named():
    with http_server(404, b"not here") as uri:
        with pytest.raises(SetupError, match="answered HTTP 404 to MLflow's API: is it an MLflow tracking server"):
            check_tracking_store(uri, 2.0)
    with http_server(200, b"<html>hello</html>") as uri:
        with pytest.raises(SetupError, match="not with MLflow's JSON"):
            check_tracking_store(uri, 2.0)


def test_a_server_answering_as_mlflow_passes():
    with http_server(200, json.dumps({"experiments": []}).encode()) as uri:
        check_tracking_store(uri, 2.0)


def test_a_study_database_that_is_not_there_fails_without_its_password(tmp_path):
    url = f"postgresql://fusion:s3cret@127.0.0.1:{free_port()}/optuna"
    with pytest.raises(SetupError) as error:
        check_study_storage(url, 1.0)
    message = str(error.value)
    assert "s3cret" not in message and "fusion:***@127.0.0.1" in message and "\n" not in message
    check_study_storage(f"sqlite:///{tmp_path}/optuna/studies.db", 1.0)
