"""Start child processes and stop every one of them, whatever happens (demo, tests, benchmarks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def blueranch_command(*args: str) -> list[str]:
    """``blueranch ARGS`` run with this interpreter (works in a venv without the script on PATH)."""
    return [sys.executable, "-m", "blueranch", *args]


def die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM it when its parent dies (PR_SET_PDEATHSIG), so a test
    run or demo that is itself killed leaves no broker or database behind. A no-op elsewhere."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except OSError:
        pass


class Supervisor:
    """Owns child processes; :meth:`stop_all` sends SIGTERM to each process group, then SIGKILL."""

    def __init__(self, log_dir: Path | None = None):
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(
        self, name: str, cmd: list[str], env: dict[str, str] | None = None, capture: bool = True
    ) -> subprocess.Popen:
        out = subprocess.DEVNULL
        if capture and self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(env or {})},
            preexec_fn=die_with_parent,
        )
        if out is not subprocess.DEVNULL:
            out.close()
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        if self.log_dir is None:
            return ""
        try:
            return (self.log_dir / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""

    def signal(self, name: str, sig: int) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, name: str, timeout_s: float = 10.0) -> int | None:
        proc = self.procs[name]
        self.signal(name, signal.SIGTERM)
        try:
            return proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.signal(name, signal.SIGKILL)
            return proc.wait(5)

    def stop_all(self, timeout_s: float = 10.0) -> dict[str, int | None]:
        # Stop in reverse start order: producers before consumers is the caller's choice of order.
        codes = {}
        for name in reversed(list(self.procs)):
            codes[name] = self.stop(name, timeout_s)
        return codes

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()
