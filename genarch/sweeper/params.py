"""Search-space parameters of a sweep: a :class:`~genarch.space.Domain` -> a JSON spec -> a nevergrad parameter.

The grammar (choice, ordered choice, range, interval, log, integer, fixed) is :mod:`genarch.space`'s,
shared with the analysis. Every swept key's domain becomes a small JSON-able *spec*
(:meth:`~genarch.space.Domain.to_spec`), so the same spec builds the nevergrad parameter, is stored in the
sweep directory for resuming, and is compared on resume::

    choice / range        {"kind": "choice", "values": [...], "ordered": false}
    interval              {"kind": "scalar", "lower": 0.0, "upper": 0.6, "log": false, "integer": false}
    fixed                 {"kind": "constant", "value": 32}
"""

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from genarch.space import Domain, domain_from_entry, domain_from_override, format_value, integer_bounds


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


def spec_from_override(override: Any) -> ParamSpec:
    """One parsed Hydra override (command line or stage YAML) -> :class:`ParamSpec`."""
    name, prefix, domain = domain_from_override(override)
    return ParamSpec(name, prefix, domain.to_spec())


def spec_from_yaml(key: str, value: Any, parser: Optional[Any] = None) -> ParamSpec:
    """An entry of ``hydra.sweeper.params``: a Hydra sweep string, a YAML list, a bounds mapping or a constant."""
    name, prefix, domain = domain_from_entry(key, value, parser)
    return ParamSpec(name, prefix, domain.to_spec())


# How far an integer interval's draw reaches past its end integers: just under half a step, so that the
# draw rounds to an end integer across its whole cell (0.5 itself would round to even; nevergrad also
# clamps the rounded value to the bounds). Sweeps started before this existed reached 0 past them: their
# state has no ``integer_cell``, and they resume with 0 (genarch.sweeper.resume).
INTEGER_CELL = 0.4999


def to_nevergrad(spec: Mapping[str, Any], integer_cell: float = INTEGER_CELL) -> Any:
    """The nevergrad parameter of a spec (a constant stays a plain value). ``integer_cell``: how far an
    integer interval's draw reaches past its end integers (:data:`INTEGER_CELL`)."""
    import nevergrad as ng

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
    """Whether ``value`` (as a ledger records it) is a point of the spec's domain, by the sweeper's exact rule
    (:meth:`genarch.space.Domain.contains_exactly`)."""
    return Domain.from_spec("", spec).contains_exactly(value)


def any_point(spec: Mapping[str, Any]) -> Any:
    """A point of the spec's domain (its first value, or an interval's lower end), for a key whose value does
    not matter."""
    if spec["kind"] == "constant":
        return spec["value"]
    if spec["kind"] == "choice":
        return spec["values"][0]
    return integer_bounds(spec["lower"], spec["upper"])[0] if spec["integer"] else spec["lower"]


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
