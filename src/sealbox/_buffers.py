"""Output buffers that become ``bytes`` without a copy.

A large message copied once more at the end costs as much as encrypting it
(AES-GCM runs at several GB/s). ``io.BytesIO`` keeps its data in a ``bytes``
object, lets us write into it through ``getbuffer()``, and hands that same
object out from ``getvalue()`` once no view is left. If a view is still alive
we fall back to a copy, so correctness never depends on the trick.

The initial ``bytes(size)`` comes from calloc, so its pages are mapped lazily:
they are faulted in by the writes themselves (overlapping with the hashing
thread) instead of by an up-front memset. ``BytesIO`` adopts that object
without a copy because nothing else references it, and copies it first if
something does (small sizes are shared singletons), as CPython guarantees.
"""

from __future__ import annotations

import io


class OutputBuffer:
    """``size`` writable bytes (``view``), turned into ``bytes`` by :meth:`to_bytes`."""

    __slots__ = ("_io", "view")

    def __init__(self, size: int) -> None:
        self._io = io.BytesIO(bytes(size))
        self.view = self._io.getbuffer()

    def to_bytes(self, length: int) -> bytes:
        """The first ``length`` bytes written. The buffer is unusable afterwards."""
        view = self.view
        try:
            view.release()
            self._io.truncate(length)
        except BufferError:  # a slice of the view is still referenced somewhere
            return bytes(self._io.getbuffer()[:length])
        return self._io.getvalue()
