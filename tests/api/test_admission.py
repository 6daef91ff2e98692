"""Reads are admitted a few at a time, earliest deadline first; writes are never queued."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from custlens.api._admission import DEADLINE_OFFSETS, DEFAULT_OFFSET, Admission, offset_of


@pytest.mark.parametrize(
    ("path", "offset"),
    [
        ("/api/v1/customers/C00000123", 0.0),
        ("/customers/C00000123", 0.0),
        ("/api/v1/customers/count", DEFAULT_OFFSET),
        ("/api/v1/customers/fields", DEFAULT_OFFSET),
        ("/api/v1/customers", 0.10),
        ("/api/v1/segments/rfm/Champions/members", 0.10),
        ("/segments/members", 0.10),
        ("/api/v1/overview", DEFAULT_OFFSET),
        ("/api/v1/segments/rfm", DEFAULT_OFFSET),
    ],
)
def test_each_route_has_its_deadline_offset(path: str, offset: float) -> None:
    assert offset_of(path) == offset
    # a profile is the most urgent read; lists next; anything else last
    assert sorted({o for _, o in DEADLINE_OFFSETS} | {DEFAULT_OFFSET}) == [0.0, 0.10, DEFAULT_OFFSET]


class _App:
    """An ASGI app whose requests finish when the test says so, recording the order they started."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release: dict[str, asyncio.Event] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        name = scope["path"]
        self.started.append(name)
        gate = self.release.setdefault(name, asyncio.Event())
        await gate.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _scope(path: str, method: str = "GET") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path}


async def _noop(message: Any) -> None:
    return None


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_waiting_reads_go_earliest_deadline_first_and_writes_are_not_queued() -> None:
    async def run() -> tuple[list[str], int]:
        app = _App()
        offsets = (
            (re.compile(r"^/profile"), 0.0),
            (re.compile(r"^/list"), 0.12),
        )
        gate = Admission(app, slots=1, offsets=offsets)
        tasks = [asyncio.create_task(gate(_scope("/first"), _receive, _noop))]
        await _settle()
        for path in ("/overview", "/list1", "/profile1", "/list2", "/profile2"):
            tasks.append(asyncio.create_task(gate(_scope(path), _receive, _noop)))
            await _settle()
        # a write goes straight in although the one slot is taken
        tasks.append(asyncio.create_task(gate(_scope("/upload", "POST"), _receive, _noop)))
        await _settle()
        assert app.started == ["/first", "/upload"]
        queued = len(gate._queue)
        for name in ("/upload", "/first", "/profile1", "/profile2", "/list1", "/list2", "/overview"):
            app.release.setdefault(name, asyncio.Event()).set()
            await _settle()
        await asyncio.gather(*tasks)
        assert gate.working == 0 and not gate._queue
        return app.started, queued

    started, queued = asyncio.run(run())
    assert queued == 5
    assert started == ["/first", "/upload", "/profile1", "/profile2", "/list1", "/list2", "/overview"]


def test_an_old_request_goes_before_newer_more_urgent_ones() -> None:
    async def run() -> list[str]:
        app = _App()
        gate = Admission(app, slots=1, offsets=((re.compile(r"^/profile"), 0.0),))  # others: 0.6 s
        tasks = [asyncio.create_task(gate(_scope("/first"), _receive, _noop))]
        await _settle()
        tasks.append(asyncio.create_task(gate(_scope("/overview"), _receive, _noop)))
        await _settle()
        await asyncio.sleep(0.7)  # the overview's deadline passes
        tasks.append(asyncio.create_task(gate(_scope("/profile"), _receive, _noop)))
        await _settle()
        for name in ("/first", "/overview", "/profile"):
            app.release.setdefault(name, asyncio.Event()).set()
            await _settle()
        await asyncio.gather(*tasks)
        return app.started

    assert asyncio.run(run()) == ["/first", "/overview", "/profile"]


def test_a_cancelled_waiter_gives_up_its_place_and_no_slot_is_lost() -> None:
    async def run() -> tuple[list[str], int]:
        app = _App()
        gate = Admission(app, slots=1)
        first = asyncio.create_task(gate(_scope("/first"), _receive, _noop))
        await _settle()
        gone = asyncio.create_task(gate(_scope("/gone"), _receive, _noop))
        later = asyncio.create_task(gate(_scope("/later"), _receive, _noop))
        await _settle()
        gone.cancel()
        await _settle()
        for name in ("/first", "/later"):
            app.release.setdefault(name, asyncio.Event()).set()
            await _settle()
        await asyncio.gather(first, later)
        with pytest.raises(asyncio.CancelledError):
            await gone
        return app.started, gate.working

    started, working = asyncio.run(run())
    assert started == ["/first", "/later"] and working == 0


def test_the_slot_is_left_when_the_response_starts() -> None:
    async def run() -> list[str]:
        started: list[str] = []
        body_sent = asyncio.Event()

        async def streaming(scope: Any, receive: Any, send: Any) -> None:
            started.append(scope["path"])
            await send({"type": "http.response.start", "status": 200, "headers": []})
            if scope["path"] == "/download":
                await body_sent.wait()  # a slow client: the body is still going out
            await send({"type": "http.response.body", "body": b"ok"})

        gate = Admission(streaming, slots=1)
        download = asyncio.create_task(gate(_scope("/download"), _receive, _noop))
        await _settle()
        await asyncio.wait_for(gate(_scope("/next"), _receive, _noop), 5)  # not held behind the download
        body_sent.set()
        await download
        return started

    assert asyncio.run(run()) == ["/download", "/next"]


def test_slots_must_be_a_whole_number_of_at_least_one() -> None:
    with pytest.raises(ValueError, match="'slots' of Admission must be a whole number >= 1; got 0"):
        Admission(_App(), slots=0)
