"""Strict JSON out: every JSON fraudft writes goes through here, so no file holds NaN or Infinity.

    from fraudft.core import jsonio
    text = jsonio.dumps({"loss": float("nan"), "step": 3})
    # {"loss": null, "step": 3, "nonfinite": {"loss": "nan"}}
    jsonio.dumps(record, nonfinite="raise")   # ValueError: $.scores[2]: got nan, expected a finite number

Python's json writes float("nan") as `NaN` and infinities as `Infinity`, which are not JSON: strict
parsers (JavaScript's JSON.parse, jq, Go, Rust's serde_json) reject the whole file. Here a
non-finite float is written as null; in an object its reason ("nan", "inf" or "-inf") is kept
beside it under NONFINITE ({key: reason}); in an array the null alone stands. With
`nonfinite="raise"` (data that must not be altered, e.g. records written back) a non-finite value
is a ValueError naming its path instead. Either way the text is written with allow_nan=False.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any, Callable

NONFINITE = "nonfinite"  # the key, beside a null that was a non-finite float, holding {key: reason}


def _reason(value: float) -> str:
    return "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"


def plain(obj: Any, *, nonfinite: str = "null", default: Callable[[Any], Any] | None = None,
          path: str = "$", _inside: frozenset = frozenset()) -> Any:
    """A copy of `obj` json can write strictly: non-finite floats as None (reason under NONFINITE in
    their object), tuples as lists, numpy numbers and booleans (numpy.bool_, which json cannot write) as
    Python ones, other objects through `default`
    (as json.dumps' default). nonfinite="raise": ValueError naming the path of a non-finite value;
    an object inside itself: ValueError "Circular reference" (as json's)."""
    if nonfinite not in ("null", "raise"):
        raise ValueError(f"nonfinite: got {nonfinite!r}, expected 'null' or 'raise'")
    if isinstance(obj, (dict, list, tuple)):
        if id(obj) in _inside:
            raise ValueError(f"Circular reference detected at {path}")
        _inside = _inside | {id(obj)}
    if isinstance(obj, (str, bool, int)) or obj is None:
        return obj
    if type(obj).__module__ == "numpy" and getattr(obj, "shape", None) == () and hasattr(obj, "item"):
        return plain(obj.item(), nonfinite=nonfinite, default=default, path=path, _inside=_inside)  # numpy scalars
    if isinstance(obj, numbers.Real) and not isinstance(obj, numbers.Integral):  # float, numpy floats
        value = float(obj)
        if math.isfinite(value):
            return value
        if nonfinite == "raise":
            raise ValueError(f"{path}: got {value}, expected a finite number (JSON has no NaN or Infinity)")
        return None
    if isinstance(obj, numbers.Integral):  # numpy integers
        return int(obj)
    if isinstance(obj, dict):
        out, reasons = {}, {}
        for key, value in obj.items():
            out[key] = plain(value, nonfinite=nonfinite, default=default, path=f"{path}.{key}", _inside=_inside)
            if out[key] is None and isinstance(value, numbers.Real) and not math.isfinite(float(value)):
                reasons[str(key)] = _reason(float(value))
        if reasons:
            given = out.get(NONFINITE, {})
            if not isinstance(given, dict):
                raise ValueError(f"{path}.{NONFINITE}: holds {given!r}, and the reasons of its object's "
                                 "non-finite values would go there")
            out[NONFINITE] = {**given, **reasons}
        return out
    if isinstance(obj, (list, tuple)):
        return [plain(v, nonfinite=nonfinite, default=default, path=f"{path}[{i}]", _inside=_inside)
                for i, v in enumerate(obj)]
    if default is not None:
        return plain(default(obj), nonfinite=nonfinite, default=None, path=path, _inside=_inside)
    return obj  # json.dumps raises its TypeError naming the type


def dumps(obj: Any, *, nonfinite: str = "null", default: Callable[[Any], Any] | None = None, **kwargs) -> str:
    """json.dumps of plain(obj), with allow_nan=False (kwargs: json.dumps' own, e.g. indent, ensure_ascii)."""
    return json.dumps(plain(obj, nonfinite=nonfinite, default=default), allow_nan=False, **kwargs)


def loads_strict(text: str) -> Any:
    """json.loads that refuses NaN, Infinity and -Infinity (as strict JSON parsers do): ValueError."""
    def refuse(constant: str):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)
