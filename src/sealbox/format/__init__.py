"""Pure message-format code: bytes <-> frozen dataclasses. No crypto, no I/O."""
