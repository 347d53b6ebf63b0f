"""Hydra's override grammar -> :class:`~genarch.space.domain.Domain`, with the sweeper's checks.

    choice(a, b) / a,b / [a, b] (YAML)   choice
    tag(ordered, choice(1, 2, 4))       choice, ordered
    range(1, 6) / tag(ordered, range)   range (values 1..5)
    interval(0, 0.6)                    interval
    tag(log, interval(0.03, 10))        interval, log
    int(interval(64, 1024))             interval, integer
    {lower: 1, upper: 8, log: true, integer: true}  (YAML mapping, as Hydra's nevergrad sweeper)
    32 / lstm (no sweep)                fixed

A parameter is named by its override key without the ``+``/``++`` prefix (``model/rnn``,
``optimizer.lr_scale``); :func:`domain_from_override` returns the prefix too, to write the job's override."""

import math
import re
from typing import Any, Mapping, Optional

from genarch.space.domain import Domain, integer_bounds
from genarch.space.values import format_value, plain

# the tags this grammar reads, per kind of sweep; any other tag would be dropped without a word
_TAG_NAMES = {"ChoiceSweep": {"ordered"}, "RangeSweep": {"ordered"}, "IntervalSweep": {"log"}}


def _parser() -> Any:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def _key(override: Any) -> tuple[str, str]:
    name = override.key_or_group + (f"@{override.package}" if override.package else "")
    prefix = "++" if override.is_force_add() else "+" if override.is_add() else ""
    return name, prefix


def _check_tags(sweep: Any, where: str) -> None:
    allowed = _TAG_NAMES.get(type(sweep).__name__, set())
    unknown = sorted(set(getattr(sweep, "tags", None) or ()) - allowed)
    if unknown:
        kind = type(sweep).__name__.replace("Sweep", "").lower()
        raise ValueError(f"{where}: tag(s) {unknown} mean nothing for a {kind} sweep here; use tag(log, interval(...)) "
                         "for a log scale and tag(ordered, choice(...)) or tag(ordered, range(...)) "
                         "for an ordered choice")


def domain_from_override(override: Any) -> tuple[str, str, Domain]:
    """One parsed Hydra override (command line or stage YAML) -> ``(name, prefix, domain)``."""
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep, Sweep

    name, prefix = _key(override)
    raw = override.input_line.split("=", 1)[1] if "=" in override.input_line else ""
    if override.is_delete():
        raise ValueError(f"{override.input_line}: deleting a key cannot be a search parameter")
    value = override.value()
    if not override.is_sweep_override():
        return name, prefix, Domain(name, "fixed", raw, values=[plain(value)])
    _check_tags(value, override.input_line)
    if isinstance(value, ChoiceSweep) and value.shuffle:
        raise ValueError(f"{override.input_line}: shuffle() means nothing to an optimizer")
    if isinstance(value, (ChoiceSweep, RangeSweep)):
        try:
            values = [plain(v) for v in override.sweep_iterator()]
        except (ValueError, TypeError) as exc:  # range(1, 5, 0): Python's own message names no key
            raise ValueError(f"{override.input_line}: {exc}") from None
        nested = next((v for v in values if isinstance(v, Sweep)), None)
        if nested is not None:  # choice(8, 16),32: a sweep as one value of another
            raise ValueError(f"{override.input_line}: a sweep cannot be one of the values of another sweep; "
                             "write one choice(...) with every value")
        domain = _choice(name, raw, values, "ordered" in value.tags, override.input_line)
        if isinstance(value, RangeSweep):
            domain.kind, domain.low, domain.high, domain.step = "range", value.start, value.stop, value.step or 1
        return name, prefix, domain
    if isinstance(value, IntervalSweep):
        integer = isinstance(value.start, int) and isinstance(value.end, int)
        return name, prefix, _interval(name, raw, value.start, value.end, "log" in value.tags, integer,
                                       override.input_line)
    raise ValueError(f"{override.input_line}: unsupported sweep {type(value).__name__}")


def domain_from_entry(key: str, value: Any, parser: Optional[Any] = None) -> tuple[str, str, Domain]:
    """An entry of ``hydra.sweeper.params``: a Hydra sweep string, a YAML list, a bounds mapping or a constant
    -> ``(name, prefix, domain)``."""
    value = plain(value)
    prefix = re.match(r"^\+{0,2}", key).group(0)
    name = key[len(prefix):]
    if isinstance(value, str):
        parser = parser or _parser()
        try:
            override = parser.parse_override(f"{key}={value}")
        except Exception as exc:  # Hydra's grammar error names neither the key nor where it came from
            raise ValueError(f"hydra.sweeper.params.{key}: cannot read {value!r} as a Hydra sweep or value: "
                             f"{str(exc).strip().splitlines()[0]}") from None
        return domain_from_override(override)
    raw = entry_text(value)
    if isinstance(value, list):
        return name, prefix, _choice(name, raw, value, False, f"{key}: {value}")
    if isinstance(value, Mapping):
        unknown = set(value) - {"lower", "upper", "log", "integer"}
        if unknown or not {"lower", "upper"} <= set(value):
            raise ValueError(f"{key}: a mapping needs lower and upper (and optionally log, integer), "
                             f"got {sorted(value)}")
        flags = {flag: value.get(flag, False) for flag in ("log", "integer")}
        for flag, given in flags.items():
            if not isinstance(given, bool):  # bool("false") would be True
                raise ValueError(f"{key}.{flag}: must be true or false, got {given!r}")
        return name, prefix, _interval(name, raw, value["lower"], value["upper"], flags["log"], flags["integer"], key)
    return name, prefix, Domain(name, "fixed", raw, values=[value])


def _choice(name: str, raw: str, values: list[Any], ordered: bool, where: str) -> Domain:
    if not values:
        raise ValueError(f"{where}: empty choice")
    if len({format_value(v) for v in values}) != len(values):
        raise ValueError(f"{where}: repeated choice values")
    return Domain(name, "choice", raw, values=list(values), ordered=bool(ordered))


def _interval(name: str, raw: str, lower: Any, upper: Any, log: bool, integer: bool, where: str) -> Domain:
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
    return Domain(name, "interval", raw, low=float(lower), high=float(upper), log=bool(log), integer=bool(integer))


def entry_text(value: Any) -> str:
    """A params entry as the text a stage file shows (``yaml.safe_load`` may have turned ``5`` into an int)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return ",".join(entry_text(v) for v in value)
    if isinstance(value, Mapping) and {"lower", "upper"} <= set(value):
        lower, upper = value["lower"], value["upper"]
        if not all(isinstance(b, (int, float)) and math.isfinite(b) for b in (lower, upper)):
            return str(dict(value))  # not bounds: domain_from_entry says why
        if value.get("integer"):
            text = "int(interval({}, {}))".format(*integer_bounds(float(lower), float(upper)))
        else:
            text = f"interval({float(lower)!r}, {float(upper)!r})"
        return f"tag(log, {text})" if value.get("log") else text
    return str(value)


def parse_domain(key: str, entry: Any) -> Domain:
    """A stage's entry (override text or a YAML list / bounds mapping / constant) -> its domain, as the sweeper
    reads it; ``raw`` is the entry's text."""
    entry = plain(entry)
    if isinstance(entry, str):  # Hydra's own error reaches parse_params, which names the stage and the key
        domain = domain_from_override(_parser().parse_override(f"{key}={entry}"))[2]
    else:
        domain = domain_from_entry(key, entry)[2]
    domain.key, domain.raw = key, entry_text(plain(entry))
    return domain


def parse_params(params: Mapping[str, Any], where: str = "hydra.sweeper.params") -> dict[str, Domain]:
    """Each entry's domain; one that cannot be read is a ValueError naming ``where`` and the key."""
    from hydra.errors import HydraException

    domains = {}
    for key, value in params.items():
        try:
            domains[str(key)] = parse_domain(str(key), value)
        except (HydraException, ValueError, TypeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ValueError(f"{where}.{key}: cannot read {entry_text(plain(value))!r} as a sweep "
                             f"({type(exc).__name__}: {first})") from None
    return domains
