"""argparse as the ``sealbox`` command uses it: no prefix abbreviations, a hint for
a mistyped flag, single-valued flags given once, and handlers imported only when
their command runs."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import NoReturn

Handler = Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """argparse without prefix abbreviations, suggesting the flag a typo meant."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    #: the words being parsed, so that a typo is matched against its own command's flags
    words: Sequence[str] = ()

    def _known_flags(self) -> list[str]:
        flags = [flag for action in self._actions for flag in action.option_strings]
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = [action.choices[w] for w in self.words[:1] if w in action.choices]
                for sub in chosen or action.choices.values():
                    flags += [flag for a in sub._actions for flag in a.option_strings]
        return flags

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # Refuse leftovers here, in the (sub)command that could not place them, so that the
        # error shows that command's usage rather than the top-level one.
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    def error(self, message: str) -> NoReturn:
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            import difflib

            for word in message[len(prefix) :].split():
                if word.startswith("-"):
                    close = difflib.get_close_matches(word.split("=")[0], self._known_flags(), n=1)
                    if close:
                        message += f" (did you mean {close[0]}?)"
                        break
        super().error(message)


class Once(argparse.Action):
    """A single-valued flag given twice is a mistake, not a silent override."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, f"_seen_{self.dest}", False):
            parser.error(f"argument {'/'.join(self.option_strings)}: given twice")
        setattr(namespace, f"_seen_{self.dest}", True)
        setattr(namespace, self.dest, values)


def lazy(module: str, function: str) -> Handler:
    def run(args: argparse.Namespace) -> int:
        import importlib

        handler: Handler = getattr(importlib.import_module(module), function)
        return handler(args)

    return run
