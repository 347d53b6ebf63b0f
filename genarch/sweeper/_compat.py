"""A compatibility shim for nevergrad 1.0.12 under numpy 2.

nevergrad's surrogate step (``nevergrad.optimization.metamodel.learn_on_k_best``, used by the
MetaModel optimizers NGOpt picks for low-dimensional continuous spaces) calls
``float(model.predict(x))`` on a 1-element array. numpy 2 refuses that ("only 0-dimensional arrays
can be converted to Python scalars"); the TypeError is raised in nevergrad's recaster thread, the
ask() fails and the waiting thread keeps the process from exiting, so a sweep hangs after ~13 trials.
The shim gives that one module a ``float`` that takes a 1-element array, and nothing else."""

import builtins
from typing import Any

import numpy as np


def _float(value: Any = 0.0) -> float:
    if isinstance(value, np.ndarray) and value.ndim > 0 and value.size == 1:
        return builtins.float(value.reshape(()))
    return builtins.float(value)


def patch_nevergrad() -> None:
    from nevergrad.optimization import metamodel

    try:
        builtins.float(np.zeros(1))
    except TypeError:  # numpy 2: patch only where the original code fails
        metamodel.float = _float  # type: ignore[attr-defined]
