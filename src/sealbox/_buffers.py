"""Output buffers that become ``bytes`` without a copy.

A large message copied once more at the end costs as much as encrypting it
(AES-GCM runs at several GB/s). ``io.BytesIO`` keeps its data in a ``bytes``
object, lets us write into it through ``getbuffer()``, and hands that same
object out from ``getvalue()`` once no view is left. If a view is still alive
we fall back to a copy, so correctness never depends on the trick.

The initial ``bytes(size)`` comes from calloc, so its pages are mapped lazily
and faulted in by the writes themselves. A page fault per 4 KiB costs more
than encrypting the page (about 0.5 GB/s against several GB/s on a virtual
machine), so on Linux a large buffer asks for transparent huge pages: one
fault per 2 MiB. It is advice only, and nothing depends on it being taken.
``BytesIO`` adopts that object without a copy because nothing else references
it, and copies it first if something does (small sizes are shared
singletons), as CPython guarantees.
"""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Callable

HUGE_FROM = 8 << 20  # buffers from this size ask for huge pages
_HUGE_PAGE = 2 << 20


class OutputBuffer:
    """``size`` writable bytes (``view``), turned into ``bytes`` by :meth:`to_bytes`."""

    __slots__ = ("_io", "view")

    def __init__(self, size: int) -> None:
        self._io = io.BytesIO(bytes(size))
        self.view = self._io.getbuffer()
        if size >= HUGE_FROM:
            advise_huge_pages(self.view)

    def to_bytes(self, length: int) -> bytes:
        """The first ``length`` bytes written. The buffer is unusable afterwards."""
        view = self.view
        try:
            view.release()
            self._io.truncate(length)
        except BufferError:  # a slice of the view is still referenced somewhere
            return bytes(self._io.getbuffer()[:length])
        return self._io.getvalue()


def advise_huge_pages(view: memoryview) -> None:
    """Ask for transparent huge pages under the 2 MiB-aligned interior of ``view``
    (writable, not yet written: the advice applies to pages faulted in later)."""
    madvise = _huge_page_advice()
    if madvise is None:
        return
    import ctypes

    anchor = ctypes.c_char.from_buffer(view)  # the address; dropped at once to free the view
    start = ctypes.addressof(anchor)
    del anchor
    first = -start % _HUGE_PAGE + start
    last = (start + len(view)) // _HUGE_PAGE * _HUGE_PAGE
    if last > first:
        madvise(first, last - first)  # a refusal (old kernel, THP off) is harmless


@functools.cache
def _huge_page_advice() -> Callable[[int, int], object] | None:
    """madvise(address, length, MADV_HUGEPAGE) from libc, or None where there is none.
    ctypes is imported only for large buffers, so ``import sealbox`` stays light."""
    import mmap

    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if sys.platform != "linux" or advice is None:
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    function.restype = ctypes.c_int
    return lambda address, length: function(address, length, advice)
