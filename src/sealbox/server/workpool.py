"""Blocking or CPU-heavy work, off the event loop and shared fairly between accounts.

Handlers are synchronous and run on the event loop (mutating ones inside a store
transaction), so anything slow they need (RSA key pair generation today; every future
asymmetric operation) is done before them: an operation declares a *preparation* in the
operation table that checks what it can cheaply and returns a job; the dispatcher runs
the job in this pool and the handler picks the result up with :func:`prepared`.

The pool is a few threads per worker (the work releases the GIL: OpenSSL). One account
holds at most ``per_account`` of them at a time and queues at most ``QUEUE_PER_ACCOUNT``
jobs beyond that, so a caller looping an expensive operation slows itself; others keep
their threads and the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sealbox.server.errors import ThrottlingException

T = TypeVar("T")
QUEUE_PER_ACCOUNT = 32  # jobs one account may have waiting or running in one worker
BUSY = "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."

_prepared: contextvars.ContextVar[Any] = contextvars.ContextVar("sealbox_prepared", default=None)


def prepared() -> Any:
    """The result of the running request's job, or None (e.g. a handler called directly)."""
    return _prepared.get()


@contextlib.contextmanager
def providing(value: Any) -> Iterator[None]:
    token = _prepared.set(value)
    try:
        yield
    finally:
        _prepared.reset(token)


@dataclass
class _Share:
    slots: asyncio.Semaphore
    users: int = 0  # jobs waiting or running


class WorkPool:
    def __init__(self, threads: int = 2, per_account: int = 1) -> None:
        self.threads = threads
        self.per_account = max(1, min(per_account, threads))
        self._executor: ThreadPoolExecutor | None = None
        self._shares: dict[str, _Share] = {}  # only accounts with work in flight

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="sealbox-work")
        return self._executor

    async def run(self, account: str, job: Callable[[], T]) -> T:
        """``job()`` on a pool thread, once ``account`` has a free share of the pool."""
        share = self._shares.get(account)
        if share is None:
            share = self._shares[account] = _Share(asyncio.Semaphore(self.per_account))
        if share.users >= QUEUE_PER_ACCOUNT:
            raise ThrottlingException(BUSY)
        share.users += 1
        try:
            await share.slots.acquire()
        except BaseException:
            self._leave(account, share)
            raise
        future = asyncio.get_running_loop().run_in_executor(self._pool(), job)

        # The share is given back when the thread is done, even if the request was
        # cancelled meanwhile: a thread cannot be stopped, so it still counts.
        def finished(_: object) -> None:
            share.slots.release()
            self._leave(account, share)

        future.add_done_callback(finished)
        return await asyncio.shield(future)

    def _leave(self, account: str, share: _Share) -> None:
        share.users -= 1
        if share.users == 0 and self._shares.get(account) is share:
            del self._shares[account]

    def in_flight(self, account: str) -> int:
        share = self._shares.get(account)
        return 0 if share is None else share.users

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
