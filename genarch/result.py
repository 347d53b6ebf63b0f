"""``result.json``: what one training run leaves behind for the sweeper, the ledger and analysis.

Schema (every key always present)::

    status        "ok" | "failed"
    error         null, or "<ExceptionType>: message" for a failed run
    objective     {"name": "val_auroc", "direction": "maximize" | "minimize", "value": float | null}
    hparams       every resolved config value as flat dotted keys ("model.stem.filters": 32)
    overrides     the task overrides Hydra composed this run from (["model/rnn=lstm", ...])
    metrics       {"val": {...}, "test": {...}} floats, "pearson_r/<output>" per output for regression;
                  null where a metric is undefined (AUROC of a one-class split, a NaN or inf value), so the
                  file is strict JSON. A failed run keeps the metrics it had computed before it failed.
    n_params      trainable parameter count (null if the model never built)
    epochs        epochs run
    wall_time_s   seconds from start to end of the run
    seed          the seed used
    version       genarch version
    task          "binary" | "regression"
    extra         run facts: best_epoch, threads, split sizes, dataset name

A failed run never replaces a successful ``result.json``: pointed at a directory that holds one, it writes
``result.failed.json`` beside it (same schema) and says so.
"""

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from genarch import __version__
from genarch.io import atomic_write_json

RESULT_FILE = "result.json"
FAILED_BESIDE_FILE = "result.failed.json"  # a failure in a directory whose result.json is a success


@dataclass
class Objective:
    name: str
    direction: str  # "maximize" | "minimize"
    value: Optional[float] = None

    def __post_init__(self) -> None:
        if self.direction not in ("maximize", "minimize"):
            raise ValueError(f"objective direction must be 'maximize' or 'minimize', got {self.direction!r}")


@dataclass
class RunResult:
    status: str
    objective: Objective
    hparams: dict[str, Any] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    n_params: Optional[int] = None
    epochs: int = 0
    wall_time_s: float = 0.0
    seed: Optional[int] = None
    task: Optional[str] = None
    error: Optional[str] = None
    extra: dict[str, Any] = field(default_factory=dict)
    version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["objective"]["value"] = finite_or_none(data["objective"]["value"])
        data["metrics"] = {split: {name: finite_or_none(value) for name, value in values.items()}
                           for split, values in data["metrics"].items()}
        return data

    def write(self, directory: "str | Path") -> Path:
        """Write ``result.json``; the path written. A failure never replaces a successful result: in a
        directory whose ``result.json`` says ``ok``, a failed run is written beside it as
        ``result.failed.json`` (the success, and the model.pt it describes, stay)."""
        directory = Path(directory)
        if self.status != "ok" and _status_of(directory / RESULT_FILE) == "ok":
            return atomic_write_json(directory / FAILED_BESIDE_FILE, self.to_dict())
        return atomic_write_json(directory / RESULT_FILE, self.to_dict())


def _status_of(path: Path) -> Optional[str]:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("status") if isinstance(data, dict) else None


def finite_or_none(value: Any) -> Any:
    """NaN and infinities -> None (JSON ``null``); every other value unchanged. ``json.dumps`` would
    write them as the bare words ``NaN``/``Infinity``, which strict JSON readers (jq, JavaScript) refuse."""
    if isinstance(value, (float, int)) and not isinstance(value, bool) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (list, dict)):  # numpy scalars
        try:
            item = value.item()
        except (TypeError, ValueError):
            return value
        return finite_or_none(item) if isinstance(item, float) else value
    return value


def read_result(directory: "str | Path") -> dict[str, Any]:
    import json

    path = Path(directory) / RESULT_FILE
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
