"""Points: candidates a stage names to be trained first (``hydra.sweeper.points``), as Optuna's
``enqueue_trial`` or nevergrad's ``optimizer.suggest``: a published architecture, the previous stage's winner.

Each point is a mapping {swept key: value} naming every swept key of the stage (a key the stage fixes may be left
out; named, it must hold its fixed value). The optimizer asks the points first, in the order given, then
its own candidates; a point is a trial like any other (it counts towards the budget, its loss is told, and in a
multi-fidelity sweep it enters the first bracket's first rung like the others). A point already evaluated
(a warm start's) is not trained again. A point outside the space is refused before anything is written,
naming it and the key."""

from typing import Any, Mapping, Sequence

from genarch.space import format_value
from genarch.sweeper.params import ParamSpec, render, spec_contains
from genarch.sweeper.task_config import override_values


def check_points(points: Sequence[Any], specs: Mapping[str, ParamSpec],
                 fixed: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The points as full parameter dicts (every spec's key, in the space's order), or a ValueError naming the
    point and key that is not a point of the space. ``fixed``: the sweep's fixed overrides (``key=value``)."""
    fixed_values = override_values(fixed)
    out = []
    for i, point in enumerate(points):
        where = f"hydra.sweeper.points[{i}]"
        if not isinstance(point, Mapping):
            raise ValueError(f"{where}={point!r}: give a mapping {{swept key: value}}, e.g. "
                             "{model.stem.filters: 64, optimizer: adam, ...}")
        given = {str(key).lstrip("+"): value for key, value in point.items()}
        for name in sorted(set(given) & set(fixed_values) - set(specs)):
            if not _same_value(given[name], fixed_values[name]):
                raise ValueError(f"{where}: {name}={format_value(given[name])}, but this sweep fixes "
                                 f"{name}={fixed_values[name]}")
            del given[name]
        unknown = sorted(set(given) - set(specs))
        if unknown:
            raise ValueError(f"{where}: {unknown} are not keys of this sweep's space (its keys: {sorted(specs)})")
        missing = sorted(name for name, spec in specs.items() if spec.swept and name not in given)
        if missing:
            raise ValueError(f"{where}: name every swept key; missing {missing}")
        params = {}
        for name, spec in specs.items():
            value = given.get(name, spec.spec.get("value"))
            if not spec_contains(spec.spec, value) or not _within_bounds(spec.spec, value):
                raise ValueError(f"{where}: {name}={format_value(value)} is not a point of {render(spec.spec)}")
            params[name] = value
        out.append(params)
    return out


def suggest_points(optimizer: Any, points: Sequence[Mapping[str, Any]]) -> None:
    """Queue the points in the optimizer, asked first in the order given (nevergrad pops its suggestions last in,
    first out)."""
    for params in reversed(points):
        optimizer.suggest(dict(params))


def _within_bounds(spec: Mapping[str, Any], value: Any) -> bool:
    """An interval's value inside its bounds exactly: nevergrad refuses one past them, which the recorded-value
    rule (:func:`spec_contains`, 1e-9 of slack for values read back from a ledger) would let through."""
    return spec["kind"] != "scalar" or float(spec["lower"]) <= float(value) <= float(spec["upper"])


def _same_value(value: Any, text: str) -> bool:
    """A point's value against a fixed override's text: the same text, or the same number (``1e-3``, ``0.001``)."""
    if format_value(value) == text:
        return True
    try:
        return not isinstance(value, bool) and float(value) == float(text)
    except (TypeError, ValueError):
        return False
