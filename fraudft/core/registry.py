"""The one registry pattern of fraudft: every extension point (data formats, counterfactual sets,
metrics, audit checks, expectation kinds, baselines, model families, tasks) is a `Registry`.

    FORMATS = Registry("format")

    @FORMATS.decorator("jsonl")              # or FORMATS.add("jsonl", entry)
    def read_jsonl(path, options): ...

    FORMATS.names()                          # ('jsonl', ...), in registration order
    FORMATS.lookup("jsnl", option="--format")  # UsageError: --format: got 'jsnl', expected a
                                             #   format, one of jsonl, ... (did you mean jsonl?)

A registry is a read-only mapping of name -> entry; name lists shown to users (CLI choices, error
messages, docs) are derived from it, never kept beside it. Registration order is the order of the
imports that fill it, which each registry's package fixes in its `__init__`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from fraudft.core.errors import UsageError

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Entries registered by name, in registration order; a name is registered once."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Register `entry` as `name`; a second registration of one name is a ValueError (a bug)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind}: got name {name!r}, expected a non-empty string")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def remove(self, name: str) -> T:
        """Unregister `name` (a test's own registration); a KeyError when it is not registered."""
        return self._entries.pop(name)

    def decorator(self, name: str, wrap: Callable[[Callable], T] | None = None) -> Callable[[Callable], Callable]:
        """A decorator registering the function as `name` (as `wrap(function)` where given)."""
        def register(function: Callable) -> Callable:
            self.add(name, wrap(function) if wrap is not None else function)
            return function
        return register

    def copy(self) -> "Registry[T]":
        """A registry with the same entries, to extend without touching this one (tests)."""
        other = Registry(self.kind)
        other._entries = dict(self._entries)
        return other

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def close_matches(self, name: str) -> list[str]:
        return difflib.get_close_matches(str(name), self._entries, n=3, cutoff=0.6)

    def unknown_message(self, name, option: str | None = None) -> str:
        """One line for an unknown name: what was given, what is known, close matches first."""
        close = self.close_matches(name)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        where = f"{option}: " if option else ""
        article = "an" if self.kind[:1] in "aeiou" else "a"
        return f"{where}got {name!r}, expected {article} {self.kind}, one of {', '.join(self._entries)}{hint}"

    def lookup(self, name: str, option: str | None = None) -> T:
        """The entry of `name`, or a UsageError naming the option, the known names and close matches."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UsageError(self.unknown_message(name, option)) from None

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"
