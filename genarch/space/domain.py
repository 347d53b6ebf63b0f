"""A swept key's domain: what it holds, how it is written, how it is drawn from.

Kinds: ``choice`` (``ordered`` for ``tag(ordered, choice(...))``), ``range`` (``range(a, b[, step])``,
expanded into ``values``), ``interval`` (``log``, ``integer``) and ``fixed`` (one value, not swept).
The sweeper stores a domain as a small JSON *spec* in ``sweep_state.json`` (:meth:`Domain.to_spec`);
that format is fixed by the sweeps already on disk, which resume by comparing it."""

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from genarch.space.values import format_value, is_number, stage_value


def interval_slack(low: float, high: float) -> float:
    """How far past its ends an interval still counts a value as inside: a relative 1e-9, the rounding
    a bound picks up when it is written as override text and read again."""
    return 1e-9 * max(1.0, abs(float(low)), abs(float(high)))


def recorded_in_interval(value: Any, low: float, high: float, integer: bool = False) -> bool:
    """Whether a recorded parameter value is a point of the interval [low, high] (a whole number if
    ``integer``), the ends widened by :func:`interval_slack`; a bool, a string or a non-finite number never is."""
    if not is_number(value) or not math.isfinite(value):
        return False
    if integer and float(value) != int(value):
        return False
    slack = interval_slack(low, high)
    return float(low) - slack <= float(value) <= float(high) + slack


def integer_bounds(lower: float, upper: float) -> tuple[int, int]:
    """The integers an integer interval with these bounds sweeps: those inside them (``0.5..8`` is ``1..8``)."""
    return math.ceil(lower), math.floor(upper)


def same_value(a: Any, b: Any) -> bool:
    """Whether two recorded values are the same point: numbers within 1e-9, true not 1, null not \"null\"."""
    if is_number(a) and is_number(b):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return type(a) is type(b) and a == b  # true is not 1, null is not "null"
    return str(a) == str(b)


def format_choice(values: Sequence[Any], ordered: bool = False) -> str:
    """``choice(a, b)``; Hydra's ``choice()`` refuses ``null``, so a list holding it is written ``null,exp``
    (the plain sweep form, which cannot carry the ``ordered`` tag)."""
    if any(v is None for v in values):
        if ordered:
            raise ValueError(f"an ordered choice cannot hold null in Hydra's grammar: {list(values)}")
        return ",".join(stage_value(v) for v in values)
    text = "choice(" + ", ".join(stage_value(v) for v in values) + ")"
    return f"tag(ordered, {text})" if ordered else text


def format_interval(low: float, high: float, *, log: bool = False, integer: bool = False) -> str:
    if integer:
        body = f"int(interval({math.floor(low)}, {math.ceil(high)}))"  # rounded outward: the range only widens
    else:
        body = f"interval({stage_value(float(low))}, {stage_value(float(high))})"
    return f"tag(log, {body})" if log else body


def format_range(start: int, stop: int, step: int = 1, ordered: bool = False) -> str:
    text = f"range({start}, {stop})" if step == 1 else f"range({start}, {stop}, {step})"
    return f"tag(ordered, {text})" if ordered else text


@dataclass
class Domain:
    key: str
    kind: str  # "choice" | "range" | "interval" | "fixed"
    raw: str = ""  # the text it was read from
    values: list[Any] = field(default_factory=list)  # choice / range (expanded) / fixed
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    step: Any = 1
    integer: bool = False
    ordered: bool = False

    @property
    def swept(self) -> bool:
        return self.kind != "fixed"

    @property
    def numeric(self) -> bool:
        if self.kind in ("interval", "range"):
            return True
        return bool(self.values) and all(is_number(v) for v in self.values)

    def bounds(self) -> tuple[float, float]:
        """An interval's ends, widened by a relative 1e-9 so a value written back as text still lies inside."""
        slack = interval_slack(self.low, self.high)
        return self.low - slack, self.high + slack

    def contains(self, value: Any) -> bool:
        """Whether a trial's recorded value lies in this domain (the analysis's rule for pooling an earlier
        trial): inside an interval (whole for an integer one) or numerically equal to one of the values."""
        if self.kind == "interval":
            return recorded_in_interval(value, self.low, self.high, integer=self.integer)
        return any(same_value(value, v) for v in self.values)

    def contains_exactly(self, value: Any) -> bool:
        """The sweeper's rule for a warm-start trial: inside an interval, or one of the values written as the
        same override text (16.0 is not a point of ``choice(8, 16)``: the trial is told to nevergrad and its
        overrides rewritten from this value, and both must match exactly)."""
        if self.kind == "interval":
            return recorded_in_interval(value, self.low, self.high, integer=self.integer)
        try:
            text = format_value(value)
        except TypeError:
            return False
        return any(format_value(v) == text for v in self.values)

    def format(self) -> str:
        """The domain in Hydra's override grammar, as a stage file writes it (reads back as this domain)."""
        if self.kind == "choice":
            return format_choice(self.values, self.ordered)
        if self.kind == "interval":
            return format_interval(self.low, self.high, log=self.log, integer=self.integer)
        if self.kind == "range":
            return format_range(self.low, self.high, self.step, self.ordered)
        return stage_value(self.values[0]) if self.values else self.raw

    def sample(self, rng: Any) -> Any:
        """One value drawn uniformly (log-uniformly for a log interval) with a numpy ``Generator``."""
        if self.kind in ("choice", "range", "fixed"):
            return self.values[int(rng.integers(len(self.values)))]
        if self.log:
            value = float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        else:
            value = float(rng.uniform(self.low, self.high))
        return min(max(int(round(value)), int(self.low)), int(self.high)) if self.integer else value

    # ---- the sweeper's JSON spec ---------------------------------------------------------------------
    def to_spec(self) -> dict[str, Any]:
        if self.kind in ("choice", "range"):
            return {"kind": "choice", "values": list(self.values), "ordered": bool(self.ordered)}
        if self.kind == "interval":
            # an integer interval's spec holds its end integers as ints (the sweeps on disk compare it so)
            cast = int if self.integer else float
            return {"kind": "scalar", "lower": cast(self.low), "upper": cast(self.high), "log": bool(self.log),
                    "integer": bool(self.integer)}
        return {"kind": "constant", "value": self.values[0]}

    @classmethod
    def from_spec(cls, key: str, spec: Mapping[str, Any]) -> "Domain":
        kind = spec["kind"]
        if kind == "choice":
            return cls(key, "choice", values=list(spec["values"]), ordered=bool(spec["ordered"]))
        if kind == "scalar":
            return cls(key, "interval", low=float(spec["lower"]), high=float(spec["upper"]), log=bool(spec["log"]),
                       integer=bool(spec["integer"]))
        if kind == "constant":
            return cls(key, "fixed", values=[spec["value"]])
        raise ValueError(f"unknown parameter spec {dict(spec)!r}")
