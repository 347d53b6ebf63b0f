"""Stage files as the analysis reads them: the declared search space of a sweep.

A stage file (``conf/stage/*.yaml``) declares each swept parameter in Hydra's override grammar; its
domains are read by :mod:`genarch.space`, the same grammar the sweeper reads them with, and the
analysis writes its suggested stage with ``Domain.format`` and :mod:`genarch.space`'s ``format_*``
helpers, so a suggested stage is parsed by the sweeper exactly as a hand-written one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import yaml

from genarch.space import Domain, entry_text, format_choice, format_interval, parse_params

param_text = entry_text  # a params entry as the stage file shows it


@dataclass
class Stage:
    """A stage file (or the params a sweep recorded) and its parsed domains."""

    path: Optional[Path]
    text: Optional[str]
    params: dict[str, str]
    domains: dict[str, Domain]
    name: Optional[str] = None
    sweeper: dict[str, Any] = field(default_factory=dict)  # budget, num_workers, optimizer...
    # each param's key as the file writes it, where that is not its name: "++model.pooling.hidden" (a key the
    # config may lack); params and domains are keyed by the name the trials record, without the prefix
    keys: dict[str, str] = field(default_factory=dict)

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
    params, keys = _by_name(params)
    return Stage(path=path, text=text, params={k: param_text(v) for k, v in params.items()},
                 domains=parse_params(params, where=f"{path}: hydra.sweeper.params"),
                 name=path.stem, sweeper={k: v for k, v in sweeper.items() if k != "params"}, keys=keys)


def _by_name(params: Mapping[Any, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Params keyed by name (``++key`` -> ``key``, as the ledger records it), and the prefixed keys."""
    named = {str(k).lstrip("+"): v for k, v in params.items()}
    return named, {str(k).lstrip("+"): str(k) for k in params if str(k).startswith("+")}


def stage_from_params(params: Mapping[str, Any], *, name: Optional[str] = None,
                      sweeper: Optional[Mapping[str, Any]] = None) -> Stage:
    """A stage known only from its params (a sweep's multirun.yaml): no file text to edit."""
    params, keys = _by_name(params)
    return Stage(path=None, text=None, params={k: param_text(v) for k, v in params.items()},
                 domains=parse_params(params), name=name, sweeper=dict(sweeper or {}), keys=keys)


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
    # shown to 4 significant digits; the domain keeps the trials' exact extremes
    raw = format_interval(float(f"{low:.4g}"), float(f"{high:.4g}"), log=log)
    return Domain(key, "interval", raw, low=low, high=high, log=log)
