"""Multi-fidelity stages: ``hydra.sweeper.fidelity`` parsed and checked, its rungs, brackets and promotions.

    hydra:
      sweeper:
        fidelity: {key: trainer.max_epochs, min: 2, max: 18, eta: 3}   # rungs 2, 6, 18

Successive halving (Jamieson & Talwalkar 2016) runs ``n`` candidates at the lowest fidelity ``r0`` and
promotes the best ``floor(n_i / eta)`` of rung ``i`` to rung ``i + 1`` at ``eta`` times the fidelity, up to
``max``. Hyperband (Li et al. 2018) runs ``brackets`` such schedules, bracket ``s`` (``s = s_max ... 0``)
starting ``n = ceil((s_max + 1) / (s + 1) * eta**s)`` candidates at rung ``s_max - s``. The rung
bookkeeping is these pure functions (:func:`rungs`, :func:`brackets`, :func:`promotions`); the loop that
runs them is :mod:`genarch.sweeper.rung_loop`."""

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

# fidelity keys whose promoted trials continue from the previous rung's checkpoint (epochs); any other key
# (a training-set size such as dataset.max_train) retrains at the higher fidelity
EPOCH_KEYS = ("trainer.max_epochs",)
RESUME_KEY = "trainer.resume_from"        # genarch's trainer: a Lightning checkpoint to continue from
SAVE_KEY = "trainer.save_last"            # genarch's trainer: keep checkpoints/last.ckpt (set below the top rung)
LAST_CHECKPOINT = "checkpoints/last.ckpt"  # in the job dir: genarch.training.checkpoints writes it each epoch
_FIELDS = ("key", "min", "max", "eta", "brackets", "resume_key", "save_key", "checkpoint")


@dataclass(frozen=True)
class Fidelity:
    key: str
    min: int
    max: int
    eta: int = 3
    brackets: int = 1
    resume_key: Optional[str] = None   # override naming the checkpoint a promoted trial continues from
    checkpoint: str = LAST_CHECKPOINT  # that checkpoint, relative to the previous rung's job dir
    save_key: Optional[str] = None     # boolean override that makes a job keep that checkpoint (below the top rung)

    @property
    def resumes(self) -> bool:
        return self.resume_key is not None

    def rungs(self) -> list[int]:
        return rungs(self.min, self.max, self.eta)

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _FIELDS}


def parse(value: Any) -> Optional[Fidelity]:
    """``hydra.sweeper.fidelity`` as a :class:`Fidelity` (None: a single-fidelity sweep); bad values are
    refused with an error naming the key."""
    if value is None:
        return None
    where = "hydra.sweeper.fidelity"
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}={value!r} must be a mapping such as {{key: trainer.max_epochs, min: 2, max: 18, "
                         "eta: 3}")
    unknown = sorted(set(value) - set(_FIELDS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {list(_FIELDS)}")
    key = value.get("key")
    if not isinstance(key, str) or not key or "=" in key or key.startswith("hydra."):
        raise ValueError(f"{where}.key={key!r} must be a config key such as trainer.max_epochs or dataset.max_train")

    def integer(name: str, low: int, default: Any = None) -> int:
        v = value.get(name, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < low:
            raise ValueError(f"{where}.{name}={v!r} must be an integer >= {low}")
        return v

    lo, hi, eta = integer("min", 1), integer("max", 1), integer("eta", 2, 3)
    if hi <= lo:
        raise ValueError(f"{where}: max={hi} must be above min={lo}")
    n_rungs = len(rungs(lo, hi, eta))
    n_brackets = integer("brackets", 1, 1)
    if n_brackets > n_rungs:
        raise ValueError(f"{where}.brackets={n_brackets}: at most {n_rungs}, one per rung of {rungs(lo, hi, eta)}")
    resume_key = value.get("resume_key", RESUME_KEY if key in EPOCH_KEYS else None)
    if resume_key is not None and (not isinstance(resume_key, str) or not resume_key):
        raise ValueError(f"{where}.resume_key={resume_key!r} must be a config key or null (retrain each rung)")
    save_key = value.get("save_key", SAVE_KEY if resume_key == RESUME_KEY else None)
    if save_key is not None and (not isinstance(save_key, str) or not save_key):
        raise ValueError(f"{where}.save_key={save_key!r} must be a config key or null")
    checkpoint = value.get("checkpoint", LAST_CHECKPOINT)
    if not isinstance(checkpoint, str) or not checkpoint or checkpoint.startswith("/") or ".." in checkpoint:
        raise ValueError(f"{where}.checkpoint={checkpoint!r} must be a path relative to a job dir")
    return Fidelity(key, lo, hi, eta, n_brackets, resume_key, checkpoint, save_key)


def fidelity_of(settings: Any, specs: Mapping[str, Any], fixed: Sequence[str]) -> Optional[Fidelity]:
    """The sweep's fidelity schedule (None without ``hydra.sweeper.fidelity``), checked against its space."""
    fidelity = parse(getattr(settings, "fidelity", None))
    if fidelity is not None:
        check_space(fidelity, list(specs), list(fixed))
    return fidelity


def check_space(fidelity: Fidelity, params: Sequence[str], fixed: Sequence[str]) -> None:
    """The fidelity key is the sweeper's to set: refuse it among the swept params or fixed overrides."""
    if fidelity.key in params:
        raise ValueError(f"hydra.sweeper.fidelity.key={fidelity.key} is also a swept parameter; the rungs set it")
    clash = [o for o in fixed if o.lstrip("+~").split("=", 1)[0] == fidelity.key]
    if clash:
        raise ValueError(f"hydra.sweeper.fidelity.key={fidelity.key} is also set on the command line ({clash[0]}); "
                         "the rungs set it: drop that override")


def rungs(low: int, high: int, eta: int) -> list[int]:
    """The fidelity of each rung: ``low * eta**i`` below ``high``, then ``high`` (2, 18, eta 3 -> 2, 6, 18)."""
    out = []
    r = low
    while r < high:
        out.append(r)
        r *= eta
    return out + [high]


def brackets(n_rungs: int, eta: int, n_brackets: int = 1) -> list[tuple[int, int]]:
    """Hyperband's brackets as ``(first rung, candidates entering it)``, the most aggressive first: bracket
    ``s`` (``s_max = n_rungs - 1`` down to ``s_max - n_brackets + 1``) enters
    ``ceil((s_max + 1) / (s + 1) * eta**s)`` candidates at rung ``s_max - s``. One bracket is successive
    halving over every rung with ``eta**s_max`` candidates."""
    s_max = n_rungs - 1
    return [(s_max - s, math.ceil((s_max + 1) / (s + 1) * eta**s)) for s in range(s_max, s_max - n_brackets, -1)]


def planned_jobs(fidelity: Fidelity, budget: int) -> int:
    """How many rung jobs a sweep of ``budget`` candidates runs when none fails (the progress bar's total)."""
    levels, total, entered, bracket = fidelity.rungs(), 0, 0, 0
    schedule = brackets(len(levels), fidelity.eta, fidelity.brackets)
    while entered < budget:
        first, n = schedule[bracket % len(schedule)]
        n, bracket = min(n, budget - entered), bracket + 1
        entered += n
        for _ in range(first, len(levels)):
            total += n
            n = max(1, n // fidelity.eta)
    return total


def promotions(scores: Sequence[Optional[float]], eta: int, direction: str = "minimize") -> list[int]:
    """Indices of the candidates promoted from a rung: the best ``floor(len(scores) / eta)`` (at least one when
    any succeeded) by ``direction``; a failed candidate (None or not finite) is never promoted. Ties keep
    the earlier candidate. The returned indices are in the order of ``scores``."""
    ok = [i for i, s in enumerate(scores) if s is not None and math.isfinite(s)]
    keep = min(len(ok), max(1, len(scores) // eta)) if ok else 0
    sign = -1.0 if direction == "maximize" else 1.0
    best = sorted(ok, key=lambda i: (sign * scores[i], i))[:keep]
    return sorted(best)
