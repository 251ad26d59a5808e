"""Which Optuna study database ``make studies`` opens in optuna-dashboard.

``fusion studies [STUDY]`` (:mod:`fusion.commands.studies`) prints the storage URL to open (stdout,
for the Makefile) and, on stderr, which file that is and how to pick another. ``STUDY`` is a study file (``.db``) or a
storage URL; without it, the newest job's file under the per-job study folder of the tracking store
(``MLFLOW_TRACKING_URI``, else this project's ``mlruns/mlflow.db``). Torch-free and quick.
"""

from __future__ import annotations

from pathlib import Path

from fusion.errors import SetupError

SHOWN = 5  # other study files listed by name


def study_files(folder: Path) -> list[Path]:
    """The per-job study files in ``folder``, the most recently written first."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.db"), key=lambda p: p.stat().st_mtime, reverse=True)


def shown(path: Path) -> str:
    """``path`` relative to the working directory where it lies below it (shorter to retype)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def choose(study: str, folder: Path) -> tuple[str, list[str]]:
    """The storage URL to open, and the lines that say which it is and how to pick another."""
    if "://" in study:
        return study, [f"optuna-dashboard on {study}"]
    if study:
        path = Path(study).expanduser()
        if not path.is_file():
            raise SetupError(f"STUDY={study}: no such study file (the per-job files are in {shown(folder)})")
        return f"sqlite:///{path.resolve()}", [f"optuna-dashboard on {shown(path)}"]
    files = study_files(folder)
    if not files:
        raise SetupError(
            f"no study files in {shown(folder)}: run a job first (make run), or name one with STUDY=path/to/study.db"
        )
    newest, others = files[0], files[1:]
    lines = [
        f"optuna-dashboard on {shown(newest)}: the most recent of {len(files)} job study files in {shown(folder)}",
        f"  one study per question (fusion-<job key>-<row index>); the job's MLflow run: "
        f"tags.`fusion.job_key` = '{newest.stem}' in make ui",
        "  another job's: make studies STUDY=path/to/study.db"
        + (f" (next newest: {', '.join(shown(p) for p in others[:SHOWN])})" if others else ""),
    ]
    return f"sqlite:///{newest.resolve()}", lines
