"""One value <-> Hydra override text.

:func:`format_value` writes a value so that Hydra's grammar reads back the same value (floats as
``repr``: the exact text a trial's override carries). :func:`format_number` writes a float the way a
stage file shows it (at least 4 significant digits in ``%g`` style, ``1.0e-5`` rather than
``1e-05``), also exactly: a number with at most 4 significant digits reads as it was written by hand."""

import math
import re
from decimal import Decimal
from typing import Any, Mapping

_SAFE = re.compile(r"^[A-Za-z_][\w\-./]*$", re.ASCII)  # Hydra reads non-ASCII letters only when quoted
_RESERVED = {"true", "false", "null", "inf", "nan"}  # Hydra reads these (any case) as non-strings


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def plain(value: Any) -> Any:
    """numpy scalars, OmegaConf containers and Hydra's quoted strings -> plain Python values."""
    from hydra.core.override_parser.types import QuotedString
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(value, QuotedString):  # a quoted value of a simple-form sweep ('a b',null) comes as one
        return value.text
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def quote(text: str) -> str:
    """``text`` as a single-quoted Hydra string that parses back to ``text``. Hydra unescapes a
    backslash only in a run before a quote or at the end of the string, so only those runs are doubled
    (doubling every backslash would hand the trial two backslashes for each one it was meant to get)."""
    body = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", text)
    body = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, body)
    return "'" + body + "'"


def _special(value: float) -> str:
    if math.isnan(value):
        return "nan"
    return "inf" if value > 0 else "-inf"


def format_value(value: Any) -> str:
    """A Python value as Hydra override text that parses back to the same value."""
    value = plain(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else _special(value)
    if isinstance(value, str):
        if _SAFE.match(value) and value.lower() not in _RESERVED:
            return value
        return quote(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{format_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as an override value")


def format_number(value: float, min_digits: int = 4) -> str:
    """A float as a stage file shows it: ``%g`` with at least ``min_digits`` significant digits and as many
    more as it takes to read back the same float; always with a ``.`` (``8.0``, ``1.0e-5``) so Hydra
    reads a float. For a number of at most ``min_digits`` digits this is ``%.{min_digits}g``'s text."""
    value = float(value)
    if not math.isfinite(value):
        return _special(value)
    digits = len(Decimal(repr(value)).normalize().as_tuple().digits)
    # up to 15 digits (DBL_DIG) ``%g`` rounds to the shortest text that reads back; past that only repr's
    # own digits are sure to (5.960464477539063e-08 is %.16g'd as ...062e-08, another float)
    text = f"{value:.{max(digits, min_digits)}g}" if digits <= 15 else repr(value).replace("e+", "e")
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}e{int(exponent)}"
    return text if "." in text or "n" in text else text + ".0"


def stage_value(value: Any) -> str:
    """One value of a domain as a stage file shows it: floats by :func:`format_number`, the rest by
    :func:`format_value`."""
    value = plain(value)
    if isinstance(value, float):
        return format_number(value)
    return format_value(value)
