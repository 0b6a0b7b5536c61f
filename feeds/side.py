"""Side: a callable run in a thread beside the main one, its exception handed back.

Used while forked workers do the heavy part of a build and this process
would otherwise wait. Start one only after the workers are forked: a
thread alive at fork time (holding a lock) can deadlock the child.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Side(threading.Thread):
    """Runs ``work`` beside the main thread; ``check`` re-raises what it raised."""

    def __init__(self, work: Callable[[], None], name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._work = work
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._work()
        except BaseException as exc:  # handed to the main thread by check()
            self._error = exc

    def check(self) -> None:
        if self._error is not None:
            raise self._error
