"""Stop a long-running command on SIGTERM or SIGINT without the signal-handler deadlock.

Python runs a signal handler in the main thread at any bytecode boundary, including inside
``threading.Event.wait()`` while that thread holds the event's internal lock; a handler that calls
``Event.set()`` there blocks on the same lock forever (a hang seen in the ingest tests). So the handler
only starts a thread, and the callback runs there.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def on_stop_signals(callback: Callable[[], object]) -> None:
    """Run ``callback`` (e.g. ``stop_event.set``) in a new thread when SIGTERM or SIGINT arrives."""

    def handler(signum: int, _frame) -> None:
        threading.Thread(target=callback, name=f"stop-on-signal-{signum}", daemon=True).start()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
