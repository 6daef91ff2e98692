"""Admission of reads: a few at a time, the most urgent first.

The service runs in one process (DuckDB allows one writer per file), and its Python work
shares one interpreter lock. Left to themselves, fifty requests in flight share the
processor evenly, so each takes fifty times its own work, and the costliest (a profile)
takes longest. :class:`Admission` lets at most ``slots`` reads (``GET``, ``HEAD``) work
at once and queues the others earliest deadline first (EDF): a request's deadline is its
arrival time plus the offset of its route (:data:`DEADLINE_OFFSETS`: a customer's profile
0, a page of a list 100 ms, anything else 600 ms). When requests queue, a profile waits
the least; a list page waits at most about 100 ms longer than the profiles queued with it,
and anything else about 600 ms longer, so no route starves (an overview that has waited
600 ms goes before every profile that arrived after it). The offsets follow the
service's latency targets (profile 100 ms, list page 200 ms, overview 1 s at the 95th
percentile; ``docs/performance.md``): when the queue is long, a list page's latency is
about a profile's plus the list offset, so the offset is the gap between the two targets
(100 ms) and both are met while profiles stay under theirs (85 ms at the 95th percentile
in the last benchmark), and the overview's is well inside its gap. EDF is the
order that meets every deadline whenever any order can on one processor (Liu and
Layland, "Scheduling Algorithms for Multiprogramming in a Hard-Real-Time Environment",
J. ACM 20(1), 1973, Theorem 7).

A request leaves its slot when its response starts (its work is done; a long download
does not hold a slot) or when it ends. Writes (``POST``, ``PUT``, ``PATCH``, ``DELETE``:
sign-in, uploads, jobs) are not queued: an upload's body arrives at the client's pace.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["Admission", "DEADLINE_OFFSETS", "DEFAULT_OFFSET", "DEFAULT_SLOTS", "offset_of"]

DEADLINE_OFFSETS: tuple[tuple[re.Pattern[str], float], ...] = (
    # one customer's profile, as JSON and as a page
    (re.compile(r"^(/api/v1)?/customers/(?!count$|fields$)[^/]+$"), 0.0),
    # a page of a list: segment members, customer search
    (re.compile(r"^/api/v1/segments/[^/]+/[^/]+/members$"), 0.10),
    (re.compile(r"^/segments/members$"), 0.10),
    (re.compile(r"^(/api/v1)?/customers$"), 0.10),
)
"""Path pattern -> deadline offset (seconds) of the reads admitted by :class:`Admission`."""

DEFAULT_OFFSET = 0.6
"""The deadline offset (seconds) of a read no pattern of :data:`DEADLINE_OFFSETS` names."""

DEFAULT_SLOTS = 4
"""Reads working at once. More than one: a read waiting for DuckDB (which runs without the
interpreter lock) or for the audit log's sync leaves the processor to another."""


def offset_of(path: str, offsets: Sequence[tuple[re.Pattern[str], float]] = DEADLINE_OFFSETS) -> float:
    """The deadline offset (seconds) of a read of ``path``."""
    for pattern, offset in offsets:
        if pattern.match(path):
            return offset
    return DEFAULT_OFFSET


class Admission:
    """ASGI middleware: at most ``slots`` reads at once, earliest deadline first.

    Parameters
    ----------
    app
        The ASGI application.
    slots
        Reads (``GET``, ``HEAD``) let in at once; must be at least 1.
    offsets
        Path pattern -> deadline offset (seconds); default :data:`DEADLINE_OFFSETS`.
    """

    def __init__(
        self,
        app: Any,
        *,
        slots: int = DEFAULT_SLOTS,
        offsets: Sequence[tuple[re.Pattern[str], float]] = DEADLINE_OFFSETS,
    ) -> None:
        if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
            raise ValueError(f"'slots' of Admission must be a whole number >= 1; got {slots!r}")
        self.app = app
        self.slots = slots
        self.offsets = tuple(offsets)
        self.working = 0
        self._queue: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        await self._enter(loop, loop.time() + offset_of(scope.get("path", ""), self.offsets))
        inside = True

        def leave() -> None:
            nonlocal inside
            if inside:
                inside = False
                self._leave()

        async def send_leaving(message: Any) -> None:
            if message["type"] == "http.response.start":
                leave()
            await send(message)

        try:
            await self.app(scope, receive, send_leaving)
        finally:
            leave()

    async def _enter(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """Take a slot, waiting in deadline order when none is free."""
        if self.working < self.slots and not self._queue:
            self.working += 1
            return
        turn: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._queue, (deadline, next(self._order), turn))
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():  # the slot was handed over: pass it on
                self._leave()
            else:
                turn.cancel()  # left in the queue; skipped when its turn comes
            raise

    def _leave(self) -> None:
        """Hand the slot to the waiting read with the earliest deadline, or free it."""
        while self._queue:
            _, _, turn = heapq.heappop(self._queue)
            if not turn.done():
                turn.set_result(None)
                return
        self.working -= 1
