"""Cryptographic helpers of the legacy API: the raw master keys' :class:`WrappingKey`."""
