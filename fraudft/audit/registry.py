"""The registry of audit checks: the one place that names a check, its title, renderer and scope.

    from fraudft.audit.registry import check

    @check("length", title="Length per class", render=render_effect, needs_both_classes=True)
    def check_length(split: Split, config: AuditConfig) -> Finding: ...

    @check("leakage", title="Leakage between splits", render=render_leakage, scope="splits")
    def check_leakage(splits: dict[str, Split], config: AuditConfig) -> list[Finding]: ...

`audit()` runs the registered checks, and the report lists their sections, in registration order
(the import order of fraudft.audit.checks). A `split` check gets one prepared split and returns one
Finding; a `splits` check gets all splits (by name, in the caller's order) and returns a list.
A check with `needs_both_classes` is not run on a one-class split, whose finding then says it was
skipped and has no figures: a renderer gets the figures of one finding and must accept `{}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fraudft.core.registry import Registry

SCOPES = ("split", "splits")


def render_nothing(figures: dict) -> list[str]:
    """The renderer of a check whose verdict says it all."""
    return []


@dataclass(frozen=True)
class Check:
    """A registered check: `name` is the `check` field of its findings, `title` its report section."""

    name: str
    title: str
    function: Callable
    render: Callable[[dict], list[str]] = render_nothing
    scope: str = "split"
    needs_both_classes: bool = False


REGISTRY: Registry[Check] = Registry("audit check")


def check(name: str, *, title: str, render: Callable[[dict], list[str]] = render_nothing, scope: str = "split",
          needs_both_classes: bool = False) -> Callable[[Callable], Callable]:
    """Register the decorated function as the check `name` (see the module docstring)."""
    if not name or not title:
        raise ValueError(f"check {name!r}: expected a non-empty name and title")
    if scope not in SCOPES:
        raise ValueError(f"check {name!r}: scope: got {scope!r}, expected one of {', '.join(SCOPES)}")
    if needs_both_classes and scope != "split":
        raise ValueError(f"check {name!r}: needs_both_classes applies to scope 'split' only")

    return REGISTRY.decorator(name, wrap=lambda function: Check(name, title, function, render, scope, needs_both_classes))


def registered(scope: str | None = None) -> list[Check]:
    """The registered checks (of one scope), in registration order."""
    return [c for c in REGISTRY.values() if scope is None or c.scope == scope]
