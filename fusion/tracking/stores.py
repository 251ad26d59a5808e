"""Where a job's stores live, and checking them before the model loads.

The tracking store is ``tracking.uri``, else ``MLFLOW_TRACKING_URI``, else this project's SQLite
store; a job's Optuna studies live beside it (:func:`optuna_storage`).

A mistyped ``tracking.uri`` on a cluster should cost seconds, not a node-hour: a SQLite store whose
folder cannot be written, an HTTP server that does not answer (or answers something that is not
MLflow), and a study database that cannot be reached fail here, within ``tracking.check_timeout``
seconds, with one line that names the URI (password removed) and the fix. Torch- and MLflow-free:
plain sockets and urllib.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from fusion.config.schema import JobConfig
from fusion.errors import SetupError
from fusion.paths import PROJECT_ROOT

# default ports of the databases an Optuna RDB storage names most often
_DB_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306, "mariadb": 3306}


def redact(uri: str) -> str:
    """``uri`` without the password of its user info (``postgresql://u:***@host/db``)."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _writable_folder(path: Path, what: str, uri: str, fix: str) -> None:
    """The folder holding ``path`` exists (or can be made) and can be written."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SetupError(f"{what}={redact(uri)}: cannot create {folder} ({error.strerror}): {fix}") from None
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise SetupError(f"{what}={redact(uri)}: {path if path.exists() else folder} is not writable: {fix}")


def _sqlite_path(uri: str) -> Path:
    # sqlite:////abs/path and sqlite:///relative/path (SQLAlchemy's forms)
    return Path(uri.removeprefix("sqlite:///")).expanduser()


# the stores MLflow's tracking client opens besides sqlite, http(s) and file (its SQLAlchemy
# backends, Databricks and its plugins' usual schemes)
SERVED_SCHEMES = {"postgresql", "mysql", "mssql", "databricks", "databricks-uc", "uc"}


def file_store_opens() -> bool:
    """MLflow 3.13 and later refuse a folder as the tracking store unless MLFLOW_ALLOW_FILE_STORE is
    set (mlflow/mlflow#18534); read from the installed version, without importing MLflow."""
    if os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").strip().lower() in ("true", "1"):
        return True
    try:
        major, minor = (int(part) for part in version("mlflow").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return True  # not ours to judge: MLflow reports it
    return (major, minor) < (3, 13)


def check_tracking_store(uri: str, timeout: float) -> None:
    """A local store can be written; a tracking server answers as MLflow does, within ``timeout`` s."""
    fix = "fix tracking.uri (or MLFLOW_TRACKING_URI)"
    if uri.startswith("sqlite:///"):
        _writable_folder(_sqlite_path(uri), "tracking.uri", uri, fix)
    elif uri.startswith(("http://", "https://")):
        probe = uri.rstrip("/") + "/api/2.0/mlflow/experiments/search?max_results=1"
        try:
            with urllib.request.urlopen(probe, timeout=timeout) as response:
                body = json.loads(response.read(1_000_000) or b"{}")
        except urllib.error.HTTPError as error:
            raise SetupError(
                f"tracking.uri={redact(uri)} answered HTTP {error.code} to MLflow's API: is it an MLflow tracking "
                f"server? {fix}"
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise SetupError(
                f"tracking.uri={redact(uri)}: no MLflow server answered within {timeout:g} s ({reason}): start it "
                f"(mlflow server --host ... --port ...) or {fix}"
            ) from None
        except ValueError:
            raise SetupError(f"tracking.uri={redact(uri)} answered, but not with MLflow's JSON: {fix}") from None
        if not isinstance(body, dict):
            raise SetupError(f"tracking.uri={redact(uri)} answered, but not as an MLflow server: {fix}")
    elif uri.startswith("file:") or "://" not in uri:
        folder = Path(uri.removeprefix("file://").removeprefix("file:")).expanduser()
        if not file_store_opens():
            raise SetupError(
                f"tracking.uri={uri} is a folder, which MLflow {version('mlflow')} opens only with "
                f"MLFLOW_ALLOW_FILE_STORE=true: use tracking.uri=sqlite:///{folder / 'mlflow.db'} (or set that variable)"
            )
        _writable_folder(folder / "x", "tracking.uri", uri, fix)
    elif uri.split("://", 1)[0].split("+")[0] not in SERVED_SCHEMES:
        raise SetupError(
            f"tracking.uri={redact(uri)}: MLflow serves no {uri.split('://', 1)[0]!r} store: use sqlite:///path/mlflow.db, "
            f"http(s)://host:port, file:/folder or a database URL (postgresql://, mysql://, mssql://); {fix}"
        )
    # the database and Databricks schemes are MLflow's business: it reports a bad one itself


def check_study_storage(url: str | None, timeout: float) -> None:
    """An Optuna RDB storage: a SQLite file's folder can be written; a database server's port answers."""
    if url is None:
        return
    fix = "fix search.study_url (or use search.study_storage=per_job)"
    if url.startswith("sqlite:///"):
        _writable_folder(_sqlite_path(url), "search.study_url", url, fix)
        return
    parts = urlsplit(url)
    dialect = parts.scheme.split("+")[0]
    host, port = parts.hostname, parts.port or _DB_PORTS.get(dialect)
    if not host or not port:
        return  # a socket path or an unknown dialect: the driver reports its own errors
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as error:
        raise SetupError(
            f"search.study_url={redact(url)}: nothing answers at {host}:{port} within {timeout:g} s "
            f"({error.strerror or error}): start the database or {fix}"
        ) from None


def default_tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` when set, as every MLflow tool reads it; else this project's SQLite store."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{PROJECT_ROOT / 'mlruns' / 'mlflow.db'}"


def default_artifact_root() -> str:
    return (PROJECT_ROOT / "mlruns" / "artifacts").as_uri()


def tracking_uri(job: JobConfig) -> str:
    return job.tracking.uri or default_tracking_uri()


def study_folder(uri: str) -> Path:
    """Where ``search.study_storage=per_job`` keeps the jobs' study files: ``<store dir>/optuna``
    beside a SQLite tracking store at ``uri``, else ``mlruns/optuna`` in the project."""
    base = Path(uri.removeprefix("sqlite:///")).parent if uri.startswith("sqlite:///") else PROJECT_ROOT / "mlruns"
    return base / "optuna"


def optuna_storage(job: JobConfig, job_key: str) -> str | None:
    """The Optuna storage URL of a job: ``per_job`` is ``<study folder>/<job key>.db`` (see
    :func:`study_folder`); the folder is made by the caller."""
    search = job.search
    if search.study_storage == "memory":
        return None
    if search.study_storage == "url":
        return search.study_url
    return f"sqlite:///{study_folder(tracking_uri(job)) / f'{job_key}.db'}"
