"""Real servers for the e2e tier, on loopback, always stopped: helpers shared by its tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
STARTUP_SECONDS = 180


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def processes_mentioning(marker: str) -> list[int]:
    """Pids whose command line contains ``marker`` (our Ray temp dir): what is left of our head."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def group_alive(pgid: int) -> bool:
    """Whether a process group has a live (not zombie) member."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(group) == pgid and state != "Z":
            return True
    return False


def stop(proc: subprocess.Popen, marker: str | None = None) -> None:
    """Stop a service started in its own session (process group = its pid): SIGTERM to the service
    itself, which stops its children (`ray start --block` drains the node through its GCS first, so
    the GCS must not get the signal before it), then SIGTERM and SIGKILL to whatever of the group is
    left, then the processes that name our Ray temp dir."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        deadline = time.monotonic() + 10
        while group_alive(proc.pid) and time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(0.5)
    proc.wait(timeout=10)
    if marker:
        deadline = time.monotonic() + 15
        while (left := processes_mentioning(marker)) and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in left:  # Ray processes that left the group: ours, they name our temp dir
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def wait_for(ready, proc: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if ready():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready after {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def start_mlflow_server(folder: Path, port: int, log: Path) -> subprocess.Popen:
    """``mlflow server`` on 127.0.0.1:port with its store and artifacts in ``folder``, in its own
    session (process group); returns once it answers /health."""
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                str(BIN / "mlflow"),
                "server",
                "--backend-store-uri",
                f"sqlite:///{folder / 'mlflow.db'}",
                "--artifacts-destination",
                str(folder / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: healthy(f"http://127.0.0.1:{port}/health"), server, log, "mlflow server")
    except BaseException:
        stop(server)
        raise
    return server
