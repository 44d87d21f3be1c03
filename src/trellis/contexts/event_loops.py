"""``EventLoops``: the asyncio loops a run's ``async def`` ops and assets run on."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asyncio import AbstractEventLoop


class EventLoops:
    """A loop per thread that runs async steps, made on first use (asyncio is imported
    only then): one for the in-process executor, one per worker thread of a threaded
    executor, so two async steps never share a running loop. ``close`` ends them all
    when the run ends."""

    __slots__ = ("_lock", "_loops")

    def __init__(self) -> None:
        self._loops: dict[int, AbstractEventLoop] = {}
        self._lock = threading.Lock()

    def current(self) -> AbstractEventLoop:
        """The loop of the calling thread."""
        ident = threading.get_ident()
        loop = self._loops.get(ident)
        if loop is None:
            import asyncio

            with self._lock:
                loop = self._loops[ident] = asyncio.new_event_loop()
        return loop

    def close(self) -> None:
        """Close every loop made so far."""
        with self._lock:
            loops, self._loops = list(self._loops.values()), {}
        for loop in loops:
            loop.close()
