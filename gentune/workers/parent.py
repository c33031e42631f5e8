"""Stopping with the parent: a process whose limits or trials its parent keeps track of must
not go on unseen once that parent is gone (killed even with SIGKILL, which leaves it no time
to stop its children)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

__all__ = ["when_parent_gone"]


def when_parent_gone(parent: int, act: Callable[[], None], interval: float = 1.0) -> None:
    """Call ``act`` from a daemon thread once this process's parent is no longer ``parent``
    (it died and the process was given to another)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        act()

    threading.Thread(target=watch, name="gentune-parent-watch", daemon=True).start()
