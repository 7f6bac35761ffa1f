"""The store's change watch looks once per event-loop turn, and never hides a change:
a look is shared only by requests of the turn it was made in, a write through the store
ends the sharing at once, and without a running loop every call looks."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sealbox.server.store.engine import SQLITE_FILE
from sealbox.server.store.repository import Store
from sealbox.server.store.watch import OncePerTurn


class CountingWatch:
    def __init__(self, answers: list[bool]) -> None:
        self.looks = 0
        self._answers = answers

    def changed(self) -> bool:
        self.looks += 1
        return self._answers.pop(0) if self._answers else False


def test_one_look_serves_the_turn_it_was_made_in() -> None:
    inner = CountingWatch([])
    watch = OncePerTurn(inner)

    async def turns() -> list[int]:
        seen = []
        for _ in range(3):
            assert [watch.changed() for _ in range(5)] == [False] * 5
            seen.append(inner.looks)
            await asyncio.sleep(0)  # the next turn
        return seen

    assert asyncio.run(turns()) == [1, 2, 3]


def test_a_moved_generation_is_never_shared() -> None:
    inner = CountingWatch([True, True, False])
    watch = OncePerTurn(inner)

    async def one_turn() -> list[bool]:
        return [watch.changed() for _ in range(4)]

    assert asyncio.run(one_turn()) == [True, True, False, False]
    assert inner.looks == 3


def test_without_a_running_loop_every_call_looks() -> None:
    inner = CountingWatch([])
    watch = OncePerTurn(inner)
    for _ in range(4):
        watch.changed()
    assert inner.looks == 4


def test_a_write_in_the_same_turn_is_seen_by_the_next_look(tmp_path: Path) -> None:
    store = Store.open_sqlite(tmp_path)
    try:

        async def one_turn() -> list[bool]:
            first = store.watch.changed()  # the store as it was: nothing moved since opening
            with store.write() as connection:  # this worker's own change
                store.put_meta({"bench": "1"}, connection)
            return [first, store.watch.changed(), store.watch.changed()]

        assert asyncio.run(one_turn()) == [False, True, False]
    finally:
        store.close()


def test_another_process_s_write_is_seen_in_the_next_turn(tmp_path: Path) -> None:
    store = Store.open_sqlite(tmp_path)
    try:

        def bump() -> None:  # as another worker or `sealbox admin` would commit
            with sqlite3.connect(tmp_path / SQLITE_FILE) as db:
                db.execute("UPDATE meta SET value = value + 1 WHERE name = 'generation'")

        async def turns() -> list[bool]:
            seen = [store.watch.changed()]
            bump()
            seen.append(store.watch.changed())  # same turn: the look before it stands
            await asyncio.sleep(0)
            seen.append(store.watch.changed())
            return seen

        assert asyncio.run(turns()) == [False, False, True]
    finally:
        store.close()


def test_close_reaches_the_inner_watch() -> None:
    closed = []

    class Closing(CountingWatch):
        def close(self) -> None:
            closed.append(True)

    OncePerTurn(Closing([])).close()
    assert closed == [True]
