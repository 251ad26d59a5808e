"""The default job as a user runs it (``python -m fusion.run``, what ``make run`` runs), timed and
measured in a child process: the first thing a new user waits for."""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fusion.paths import PROJECT_ROOT


def default_job(*overrides: str) -> tuple[float, float, float]:
    """Peak RSS (MB), process wall time and the job's own time (s) of ``python -m fusion.run`` with
    ``overrides`` (none: the default job, what ``make run`` runs), in a child process.

    The peak is the child's own (``VmHWM`` of its memory map, read as it exits): ``ru_maxrss`` of a
    child also counts this process's resident pages, which Linux carries over into a child that is
    spawned (vfork) and then execs, and this process holds two models by then.
    """
    with tempfile.TemporaryDirectory() as tmp:
        status = Path(tmp) / "status"
        args = [*overrides, f"tracking.uri=sqlite:///{tmp}/m.db", f"hydra.run.dir={tmp}/run"]
        child = (
            "import atexit, os, runpy, sys; "
            "os.path.exists('/proc/self/status') and atexit.register("
            f"lambda: open({str(status)!r}, 'w').write(open('/proc/self/status').read())); "
            f"sys.argv = ['fusion.run', *{args!r}]; runpy.run_module('fusion.run', run_name='__main__')"
        )
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", child], cwd=PROJECT_ROOT, check=True, capture_output=True, text=True
        )
        seconds = time.perf_counter() - start
        # the job's own time, as its last lines print it: "MLflow run <id> in <uri> (<seconds> s)"
        job_seconds = float(re.findall(r"^MLflow run \S+ in \S+ \((\d+) s\)$", done.stdout, re.MULTILINE)[-1])
        if not status.exists():  # no /proc (macOS): the child's ru_maxrss, an upper bound (see above), in bytes there
            return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20, seconds, job_seconds
        peak_kb = next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
    return peak_kb / 1024, seconds, job_seconds
