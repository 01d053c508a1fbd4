"""``--workers N``: N worker processes in one shared-subscription group, supervised.

Each worker is its own process (a Python process uses one core for parsing), started as
``blueranch ingest run ... --workers 1 --worker-index i`` so it has a stable MQTT client id
(``{client_id}-{i}``) and resumes its own persistent session after a restart. A worker that dies is
restarted after a backoff (the broker resends what it had not acknowledged); SIGTERM or SIGINT to the
parent stops every worker gracefully.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger("blueranch.ingest.pool")

#: Restart backoff for a worker that died: doubles per quick death, capped (a crash loop is visible in the log).
_RESTART_MIN_S = 0.5
_RESTART_MAX_S = 30.0
#: A worker that ran this long before dying is considered healthy again (backoff resets).
_HEALTHY_AFTER_S = 60.0


class Pool:
    def __init__(self, argv: list[str], workers: int):
        """``argv``: the worker command line (``blueranch ingest run`` options) without ``--workers``."""
        self.argv = argv
        self.workers = workers
        self.stop_event = threading.Event()
        self._stop_requested = False
        self.procs: dict[int, subprocess.Popen] = {}
        self.started_at: dict[int, float] = {}
        self.backoff_s = {i: _RESTART_MIN_S for i in range(1, workers + 1)}

    def _start(self, index: int) -> None:
        cmd = [
            sys.executable,
            "-m",
            "blueranch",
            "ingest",
            "run",
            *self.argv,
            "--workers",
            "1",
            "--worker-index",
            str(index),
        ]
        self.procs[index] = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        self.started_at[index] = time.monotonic()
        log.info("started ingest worker %d (pid %d)", index, self.procs[index].pid)

    def run(self) -> int:
        for i in range(1, self.workers + 1):
            self._start(i)
        restart_at: dict[int, float] = {}
        while not self.stop_event.wait(0.2) and not self._stop_requested:
            now = time.monotonic()
            for i, proc in self.procs.items():
                code = proc.poll()
                if code is None or i in restart_at:
                    continue
                lived = now - self.started_at[i]
                if lived > _HEALTHY_AFTER_S:
                    self.backoff_s[i] = _RESTART_MIN_S
                log.error(
                    "ingest worker %d (pid %d) exited with %s after %.1f s; restarting in %.1f s",
                    i,
                    proc.pid,
                    code,
                    lived,
                    self.backoff_s[i],
                )
                restart_at[i] = now + self.backoff_s[i]
                self.backoff_s[i] = min(self.backoff_s[i] * 2, _RESTART_MAX_S)
            for i, at in list(restart_at.items()):
                if now >= at:
                    del restart_at[i]
                    self._start(i)
        return self._stop_all()

    def _stop_all(self) -> int:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        worst = 0
        for i, proc in self.procs.items():
            try:
                code = proc.wait(90)
            except subprocess.TimeoutExpired:
                log.error("ingest worker %d (pid %d) did not stop; killing it", i, proc.pid)
                os.kill(proc.pid, signal.SIGKILL)
                code = proc.wait(10)
            if code == -signal.SIGTERM:
                # a worker still starting when the TERM came (before its handler): nothing was acknowledged
                log.info("ingest worker %d stopped by SIGTERM before it installed its handler", i)
                code = 0
            worst = worst or code
        return worst

    def stop(self) -> None:
        """Stop from a signal handler: only a flag (``Event.set`` could deadlock, see Worker.request_stop)."""
        self._stop_requested = True
