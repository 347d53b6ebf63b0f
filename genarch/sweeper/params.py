"""Search-space parameters: Hydra override syntax -> a JSON spec -> a nevergrad parameter.

Every swept key goes through a small JSON-able *spec* first, so the same spec builds the nevergrad
parameter, is stored in the sweep directory for resuming, and is compared on resume::

    choice(a, b) / a,b / [a, b] (YAML)   {"kind": "choice", "values": [a, b], "ordered": false}
    tag(ordered, choice(1, 2, 4))       {"kind": "choice", "values": [1, 2, 4], "ordered": true}
    range(1, 6)                         {"kind": "choice", "values": [1, 2, 3, 4, 5], "ordered": false}
    interval(0, 0.6)                    {"kind": "scalar", "lower": 0.0, "upper": 0.6, "log": false, "integer": false}
    tag(log, interval(0.03, 10))        ... "log": true
    int(interval(64, 1024))             ... "integer": true
    {lower: 1, upper: 8, log: true, integer: true}  (YAML mapping, as Hydra's nevergrad sweeper)
    32 / lstm (no sweep)                {"kind": "constant", "value": 32}

A parameter is named by its override key without the ``+``/``++`` prefix (``model/rnn``,
``optimizer.lr_scale``); the prefix is kept to write the job's override (``+foo=3``)."""

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import nevergrad as ng
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep, Sweep

from genarch.ledger import integer_bounds, recorded_in_interval


@dataclass
class ParamSpec:
    name: str      # override key without prefix: "model/rnn", "optimizer.lr_scale", "model@pkg"
    prefix: str    # "", "+" or "++"
    spec: dict[str, Any]

    @property
    def swept(self) -> bool:
        return self.spec["kind"] != "constant"

    def override(self, value: Any) -> str:
        return f"{self.prefix}{self.name}={format_value(value)}"


def _plain(value: Any) -> Any:
    """numpy scalars and OmegaConf containers -> plain Python values."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def _key(override: Override) -> tuple[str, str]:
    name = override.key_or_group + (f"@{override.package}" if override.package else "")
    prefix = "++" if override.is_force_add() else "+" if override.is_add() else ""
    return name, prefix


def spec_from_override(override: Override) -> ParamSpec:
    """One parsed Hydra override (command line or stage YAML) -> :class:`ParamSpec`."""
    name, prefix = _key(override)
    if override.is_delete():
        raise ValueError(f"{override.input_line}: deleting a key cannot be a search parameter")
    value = override.value()
    if not override.is_sweep_override():
        return ParamSpec(name, prefix, {"kind": "constant", "value": _plain(value)})
    _check_tags(value, override.input_line)
    if isinstance(value, ChoiceSweep) and value.shuffle:
        raise ValueError(f"{override.input_line}: shuffle() means nothing to an optimizer")
    if isinstance(value, (ChoiceSweep, RangeSweep)):
        try:
            values = [_plain(v) for v in override.sweep_iterator()]
        except (ValueError, TypeError) as exc:  # range(1, 5, 0): Python's own message names no key
            raise ValueError(f"{override.input_line}: {exc}") from None
        nested = next((v for v in values if isinstance(v, Sweep)), None)
        if nested is not None:  # choice(8, 16),32: a sweep as one value of another
            raise ValueError(f"{override.input_line}: a sweep cannot be one of the values of another sweep; "
                             "write one choice(...) with every value")
        return ParamSpec(name, prefix, _choice(values, "ordered" in value.tags, override.input_line))
    if isinstance(value, IntervalSweep):
        integer = isinstance(value.start, int) and isinstance(value.end, int)
        return ParamSpec(name, prefix, _scalar(value.start, value.end, "log" in value.tags, integer, override.input_line))
    raise ValueError(f"{override.input_line}: unsupported sweep {type(value).__name__}")


# the tags this sweeper reads, per kind of sweep; any other tag would be dropped without a word
_TAGS = {ChoiceSweep: {"ordered"}, RangeSweep: {"ordered"}, IntervalSweep: {"log"}}


def _check_tags(sweep: Any, where: str) -> None:
    allowed = next((tags for kind, tags in _TAGS.items() if isinstance(sweep, kind)), set())
    unknown = sorted(set(getattr(sweep, "tags", None) or ()) - allowed)
    if unknown:
        kind = type(sweep).__name__.replace("Sweep", "").lower()
        raise ValueError(f"{where}: tag(s) {unknown} mean nothing for a {kind} sweep here; use tag(log, interval(...)) "
                         "for a log scale and tag(ordered, choice(...)) or tag(ordered, range(...)) for an ordered choice")


def spec_from_yaml(key: str, value: Any, parser: Optional[OverridesParser] = None) -> ParamSpec:
    """An entry of ``hydra.sweeper.params``: a Hydra sweep string, a YAML list, a bounds mapping or a constant."""
    value = _plain(value)
    prefix = re.match(r"^\+{0,2}", key).group(0)
    name = key[len(prefix):]
    if isinstance(value, str):
        parser = parser or OverridesParser.create()
        try:
            override = parser.parse_override(f"{key}={value}")
        except Exception as exc:  # Hydra's grammar error names neither the key nor where it came from
            raise ValueError(f"hydra.sweeper.params.{key}: cannot read {value!r} as a Hydra sweep or value: "
                             f"{str(exc).strip().splitlines()[0]}") from None
        return spec_from_override(override)
    if isinstance(value, list):
        return ParamSpec(name, prefix, _choice(value, False, f"{key}: {value}"))
    if isinstance(value, Mapping):
        unknown = set(value) - {"lower", "upper", "log", "integer"}
        if unknown or not {"lower", "upper"} <= set(value):
            raise ValueError(f"{key}: a mapping needs lower and upper (and optionally log, integer), got {sorted(value)}")
        flags = {flag: value.get(flag, False) for flag in ("log", "integer")}
        for flag, given in flags.items():
            if not isinstance(given, bool):  # bool("false") would be True
                raise ValueError(f"{key}.{flag}: must be true or false, got {given!r}")
        return ParamSpec(name, prefix, _scalar(value["lower"], value["upper"], flags["log"], flags["integer"], key))
    return ParamSpec(name, prefix, {"kind": "constant", "value": value})


def _choice(values: list[Any], ordered: bool, where: str) -> dict[str, Any]:
    if not values:
        raise ValueError(f"{where}: empty choice")
    if len({format_value(v) for v in values}) != len(values):
        raise ValueError(f"{where}: repeated choice values")
    return {"kind": "choice", "values": list(values), "ordered": bool(ordered)}


def _scalar(lower: Any, upper: Any, log: bool, integer: bool, where: str) -> dict[str, Any]:
    try:
        lower, upper = float(lower), float(upper)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: interval bounds must be numbers, got [{lower!r}, {upper!r}]") from None
    if not (math.isfinite(lower) and math.isfinite(upper)):
        raise ValueError(f"{where}: interval bounds must be finite, got [{lower}, {upper}]")
    if integer:  # the integers inside the bounds, so that a trial never leaves them
        lower, upper = integer_bounds(lower, upper)
    if not lower < upper:
        what = "integers " if integer else ""
        raise ValueError(f"{where}: interval needs lower < upper, got {what}[{lower}, {upper}]")
    if log and lower <= 0:
        raise ValueError(f"{where}: a log interval needs lower > 0, got {lower}")
    return {"kind": "scalar", "lower": lower, "upper": upper, "log": bool(log), "integer": bool(integer)}


# How far an integer interval's draw reaches past its end integers: just under half a step, so that the
# draw rounds to an end integer across its whole cell (0.5 itself would round to even; nevergrad also
# clamps the rounded value to the bounds). Sweeps started before this existed reached 0 past them: their
# state has no ``integer_cell``, and they resume with 0 (genarch.sweeper.resume).
INTEGER_CELL = 0.4999


def to_nevergrad(spec: Mapping[str, Any], integer_cell: float = INTEGER_CELL) -> Any:
    """The nevergrad parameter of a spec (a constant stays a plain value). ``integer_cell``: how far an
    integer interval's draw reaches past its end integers (:data:`INTEGER_CELL`)."""
    kind = spec["kind"]
    if kind == "constant":
        return spec["value"]
    if kind == "choice":
        cls = ng.p.TransitionChoice if spec["ordered"] else ng.p.Choice
        return cls(list(spec["values"]))
    if kind == "scalar":
        lower, upper = float(spec["lower"]), float(spec["upper"])
        if spec["integer"]:
            # nevergrad rounds a continuous draw: bounds at the end integers would give each end half
            # the share of a value between them, so the draw spans each end integer's whole rounding cell
            lower, upper = lower - integer_cell, upper + integer_cell
        if spec["log"]:
            param = ng.p.Log(lower=lower, upper=upper)
        else:
            param = ng.p.Scalar(lower=lower, upper=upper)
        if spec["integer"]:
            param.set_integer_casting()
        return param
    raise ValueError(f"unknown parameter spec {spec!r}")


def spec_contains(spec: Mapping[str, Any], value: Any) -> bool:
    """Whether ``value`` (as a ledger records it) is a point of the spec's domain: one of a choice's
    values written the same way, inside a scalar's bounds (whole for an integer one), or the constant.
    A choice compares override text, not numbers (16.0 is not a point of ``choice(8, 16)``): the trial
    is told to nevergrad and its overrides rewritten from this value, and both must match exactly.
    The analysis's ``Domain.contains`` shares the interval rule and compares choices numerically."""
    kind = spec["kind"]
    if kind == "scalar":
        return recorded_in_interval(value, spec["lower"], spec["upper"], integer=spec["integer"])
    values = spec["values"] if kind == "choice" else [spec["value"]]
    try:
        text = format_value(value)
    except TypeError:
        return False
    return any(format_value(v) == text for v in values)


def render(spec: Mapping[str, Any]) -> str:
    """Hydra-like text of a spec, for messages (``choice(8, 16)``, ``tag(log, interval(0.03, 10))``)."""
    kind = spec["kind"]
    if kind == "constant":
        return format_value(spec["value"])
    if kind == "choice":
        text = f"choice({', '.join(format_value(v) for v in spec['values'])})"
        return f"tag(ordered, {text})" if spec["ordered"] else text
    text = f"interval({format_value(spec['lower'])}, {format_value(spec['upper'])})"
    if spec["integer"]:
        text = f"int({text})"
    return f"tag(log, {text})" if spec["log"] else text


_SAFE = re.compile(r"^[A-Za-z_][\w\-./]*$")
_RESERVED = {"true", "false", "null", "inf", "nan"}  # Hydra reads these (any case) as non-strings


def quote(text: str) -> str:
    """``text`` as a single-quoted Hydra string that parses back to ``text``. Hydra unescapes a
    backslash only in a run before a quote or at the end of the string, so only those runs are doubled
    (doubling every backslash would hand the trial two backslashes for each one it was meant to get)."""
    body = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", text)
    body = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, body)
    return "'" + body + "'"


def format_value(value: Any) -> str:
    """A Python value as Hydra override text that parses back to the same value."""
    value = _plain(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        if _SAFE.match(value) and value.lower() not in _RESERVED:
            return value
        return quote(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{format_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as an override value")
