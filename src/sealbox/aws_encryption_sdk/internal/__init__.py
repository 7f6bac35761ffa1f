"""Internals the reference package's users reach into (``WrappingKey``, ``SignaturePolicy``)."""
