"""The declared search space of a stage: parse ``hydra.sweeper.params`` with Hydra's own grammar.

A stage file (``conf/stage/*.yaml``) declares each swept parameter as a Hydra sweep override
(``choice(...)``, ``a,b,c``, ``interval(a, b)``, ``tag(log, interval(a, b))``, ``range(a, b)``).
:func:`parse_params` turns them into :class:`Domain` objects, and ``Domain.format`` / the
``format_*`` helpers write them back in the same grammar, so a suggested stage is parsed by the
sweeper exactly like a hand-written one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import yaml

from genarch.ledger import integer_bounds, interval_slack, recorded_in_interval


@dataclass
class Domain:
    key: str
    kind: str  # "choice" | "interval" | "range" | "fixed"
    raw: str
    values: list[Any] = field(default_factory=list)  # choice / range (expanded) / fixed
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    step: int = 1
    integer: bool = False

    @property
    def numeric(self) -> bool:
        if self.kind in ("interval", "range"):
            return True
        return bool(self.values) and all(_is_number(v) for v in self.values)

    def bounds(self) -> tuple[float, float]:
        """An interval's ends, widened by a relative 1e-9 so a value written back as text still lies inside."""
        slack = interval_slack(self.low, self.high)
        return self.low - slack, self.high + slack

    def contains(self, value: Any) -> bool:
        """Whether a trial's recorded value lies in this domain (a pooled earlier trial must, to count):
        inside an interval (whole for an integer one; the sweeper's ``spec_contains`` uses the same rule)
        or numerically equal to one of the values."""
        if self.kind == "interval":
            return recorded_in_interval(value, self.low, self.high, integer=self.integer)
        return any(_same_value(value, v) for v in self.values)

    def format(self) -> str:
        if self.kind == "choice":
            return format_choice(self.values)
        if self.kind == "interval":
            return format_interval(self.low, self.high, log=self.log, integer=self.integer)
        if self.kind == "range":
            return format_range(int(self.low), int(self.high), self.step)
        return format_value(self.values[0]) if self.values else self.raw


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same_value(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return type(a) is type(b) and a == b  # true is not 1, null is not "null"
    return str(a) == str(b)


def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def param_text(value: Any) -> str:
    """A params value as written in YAML (``yaml.safe_load`` may have turned ``5`` into an int)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return ",".join(param_text(v) for v in value)
    if isinstance(value, Mapping) and {"lower", "upper"} <= set(value):
        return _bounds_text(value)
    return str(value)


def _bounds_text(value: Mapping[str, Any]) -> str:
    """The sweeper's bounds mapping (``{lower: 1, upper: 8, log: true, integer: true}``) as the interval
    it sweeps: the integers inside the bounds for an integer one, as the sweeper takes them."""
    lower, upper = value["lower"], value["upper"]
    if value.get("integer"):
        text = "int(interval({}, {}))".format(*integer_bounds(float(lower), float(upper)))
    else:
        text = f"interval({float(lower)!r}, {float(upper)!r})"
    return f"tag(log, {text})" if value.get("log") else text


def parse_domain(key: str, text: Any) -> Domain:
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    raw = param_text(text)
    override = _parser().parse_overrides([f"{key}={raw}"])[0]
    value = override.value()
    if isinstance(value, ChoiceSweep):
        return Domain(key, "choice", raw, values=list(value.list))
    if isinstance(value, IntervalSweep):
        # Hydra's int(interval(a, b)) cast gives int endpoints (a plain interval always gives floats)
        integer = (isinstance(value.start, int) and isinstance(value.end, int)) or "int" in (value.tags or set())
        return Domain(key, "interval", raw, low=float(value.start), high=float(value.end),
                      log="log" in (value.tags or set()), integer=integer)
    if isinstance(value, RangeSweep):
        values = list(_expand_range(value.start, value.stop, value.step))
        return Domain(key, "range", raw, values=values, low=value.start, high=value.stop, step=int(value.step or 1))
    return Domain(key, "fixed", raw, values=[value])


def _expand_range(start: Any, stop: Any, step: Any) -> list[Any]:
    step = step or 1
    out, v = [], start
    while (step > 0 and v < stop) or (step < 0 and v > stop):
        out.append(v)
        v += step
    return out


def parse_params(params: Mapping[str, Any], where: str = "hydra.sweeper.params") -> dict[str, Domain]:
    """Each entry's domain; one that Hydra's grammar cannot read is a ValueError naming ``where`` and the key."""
    from hydra.errors import HydraException

    domains = {}
    for key, value in params.items():
        try:
            domains[str(key)] = parse_domain(str(key), value)
        except (HydraException, ValueError, TypeError) as exc:
            raise ValueError(f"{where}.{key}: cannot read {param_text(value)!r} as a sweep "
                             f"({type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''})") from None
    return domains


def format_value(value: Any) -> str:
    """One value in Hydra override grammar, quoted only where it would otherwise change type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    text = str(value)
    try:
        parsed = _parser().parse_overrides([f"k={text}"])[0].value()
    except Exception:  # noqa: BLE001 - anything the grammar rejects gets quoted
        parsed = None
    if isinstance(parsed, str) and parsed == text:
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def format_float(value: float, digits: int = 4) -> str:
    if math.isinf(value) or math.isnan(value):
        return {True: "inf", False: "-inf"}[value > 0] if math.isinf(value) else "nan"
    text = f"{value:.{digits}g}"
    if "e" in text or "E" in text:
        mantissa, exponent = text.lower().split("e")
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}e{int(exponent)}"
    if "." not in text:
        text += ".0"
    return text


def format_choice(values: Sequence[Any]) -> str:
    """``choice(a, b)``; Hydra's ``choice()`` refuses ``null``, so a list holding it is written
    ``null,exp`` (the plain sweep form) and a lone ``null`` as the constant ``null``."""
    if any(v is None for v in values):
        return ",".join(format_value(v) for v in values)
    return "choice(" + ", ".join(format_value(v) for v in values) + ")"


def format_interval(low: float, high: float, *, log: bool = False, integer: bool = False) -> str:
    if integer:
        import math

        body = f"int(interval({math.floor(low)}, {math.ceil(high)}))"  # rounded outward: the range only widens
        return f"tag(log, {body})" if log else body
    body = f"interval({format_float(low)}, {format_float(high)})"
    return f"tag(log, {body})" if log else body


def format_range(start: int, stop: int, step: int = 1) -> str:
    return f"range({start}, {stop})" if step == 1 else f"range({start}, {stop}, {step})"


@dataclass
class Stage:
    """A stage file (or the params a sweep recorded) and its parsed domains."""

    path: Optional[Path]
    text: Optional[str]
    params: dict[str, str]
    domains: dict[str, Domain]
    name: Optional[str] = None
    sweeper: dict[str, Any] = field(default_factory=dict)  # budget, num_workers, optimizer...

    @property
    def inferred(self) -> bool:
        return self.text is None


def _sweeper_section(data: Any) -> dict[str, Any]:
    try:
        section = data["hydra"]["sweeper"]
    except (KeyError, TypeError):
        return {}
    return dict(section) if isinstance(section, Mapping) else {}


def load_stage(path: "str | Path") -> Stage:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"{path}{at}: not valid YAML ({problem})") from None
    sweeper = _sweeper_section(data)
    params = sweeper.get("params") or {}
    if not isinstance(params, Mapping):
        raise ValueError(f"{path}: hydra.sweeper.params is not a mapping")
    params_text = {str(k): param_text(v) for k, v in params.items()}
    return Stage(path=path, text=text, params=params_text,
                 domains=parse_params(params_text, where=f"{path}: hydra.sweeper.params"),
                 name=path.stem, sweeper={k: v for k, v in sweeper.items() if k != "params"})


def stage_from_params(params: Mapping[str, Any], *, name: Optional[str] = None,
                      sweeper: Optional[Mapping[str, Any]] = None) -> Stage:
    """A stage known only from its params (a sweep's multirun.yaml): no file text to edit."""
    params_text = {str(k): param_text(v) for k, v in params.items()}
    return Stage(path=None, text=None, params=params_text, domains=parse_params(params_text), name=name,
                 sweeper=dict(sweeper or {}))


def infer_domain(key: str, kind: str, values: Sequence[Any]) -> Domain:
    """A domain for a parameter nobody declared (CSV input): what the trials actually covered."""
    distinct = sorted({v for v in values}, key=lambda v: (str(type(v)), v))
    if kind == "categorical":
        return Domain(key, "choice", format_choice(distinct), values=list(distinct))
    numbers = [float(v) for v in values]
    integral = all(float(v).is_integer() for v in numbers)
    if integral and len(set(numbers)) <= 10:
        ints = sorted({int(v) for v in numbers})
        return Domain(key, "choice", format_choice(ints), values=ints)
    low, high = min(numbers), max(numbers)
    log = low > 0 and high / low >= 100
    domain = Domain(key, "interval", "", low=low, high=high, log=log)
    domain.raw = domain.format()
    return domain
