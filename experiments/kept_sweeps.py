"""A sweep's state outlives experiments/runs, the scratch folder a new checkout does not have.

What a genarch sweep needs to resume, to be analysed and to warm-start a later stage is small text: its
ledger (every trial's start, end and rung records), ``sweep_state.json`` (what decides the candidate
sequence), ``multirun.yaml`` and ``stage.yaml`` (the config it swept: a warm start and a resume check it) and,
once finished, ``optimization_results.yaml``. The experiments that sweep (the staged searches,
the efficiency experiment) keep those files, and the small files they write around their sweeps (generated
stage files, followed suggestions), committed under ``experiments/results/sweeps/<path under
experiments/runs>/``: :func:`keeping` copies them while a sweep runs and when it ends, :func:`restore` copies
them back where a checkout lacks them. A restored sweep resumes by replaying its ledger, so no finished trial
is trained again; what is lost with the run folders is the trials' weights and logs, and a trial that was
in flight (it is trained again, as after a kill). To start a sweep afresh, delete its kept copy too.
"""

import contextlib
import logging
import threading
from pathlib import Path
from typing import Iterator, Optional, Sequence

from experiments.tables import RESULTS, RUNS
from genarch.io import atomic_write_bytes
from genarch.ledger import LEDGER_FILE
from genarch.sweeper.resume import STATE_FILE

log = logging.getLogger(__name__)

KEPT = "sweeps"  # experiments/results/sweeps/<path under experiments/runs>/
# a sweep's own state, and what the experiments write beside it (a staged run's stage files and suggestions)
KEPT_NAMES = (LEDGER_FILE, STATE_FILE, "multirun.yaml", "stage.yaml", "optimization_results.yaml")
KEPT_PATTERNS = ("conf/stage/*.yaml", "suggestion_after_stage*.yaml")
EVERY_S = 60.0


def kept_root() -> Path:
    return Path(RESULTS) / KEPT


def kept_dir(root: Path) -> Optional[Path]:
    """Where the state of the runs under ``root`` (a folder under experiments/runs) is kept; None for a folder
    elsewhere (a test's, a user's own sweep dir): nothing is kept for it."""
    for a, b in ((Path(root).absolute(), Path(RUNS).absolute()), (Path(root).resolve(), Path(RUNS).resolve())):
        if a.is_relative_to(b):
            return kept_root() / a.relative_to(b)
    return None


def _state_files(root: Path) -> Iterator[Path]:
    """The state files under ``root``: every sweep's :data:`KEPT_NAMES` and the files of :data:`KEPT_PATTERNS`."""
    for path in Path(root).rglob("*"):  # one walk: a sweep dir holds a folder per trial
        if (path.name in KEPT_NAMES or any(path.match(p) for p in KEPT_PATTERNS)) and path.is_file():
            yield path


def _copy_if_changed(source: Path, target: Path) -> bool:
    data = source.read_bytes()
    if target.is_file() and target.read_bytes() == data:
        return False
    atomic_write_bytes(target, data)  # a kill mid-copy never leaves half a file behind
    return True


def keep(root: Path) -> int:
    """Copies the state files under ``root`` to :func:`kept_dir`; returns how many changed. A file that vanishes
    or cannot be read while it is copied (a sweep writing beside it) is logged and left for the next keep."""
    target, changed = kept_dir(root), 0
    if target is None:
        return 0
    try:
        for path in list(_state_files(root)):
            changed += _copy_if_changed(path, target / path.relative_to(root))
    except OSError as e:
        log.warning("keeping %s: %s (tried again at the next keep)", root, e)
    return changed


def restore(roots: Sequence[Path] = ()) -> list[Path]:
    """Copies kept state files back wherever the run folder lacks them (all kept runs when ``roots`` is empty,
    else those under ``roots``); a file already there is never overwritten: the run folder is newer. Returns
    the files restored."""
    base = kept_root()
    sources = [kept_dir(r) for r in roots] if roots else [base]
    restored = []
    for source in (s for s in sources if s is not None):
        for kept in (p for p in Path(source).rglob("*") if p.is_file()):
            target = Path(RUNS) / kept.relative_to(base)
            if not target.exists():
                atomic_write_bytes(target, kept.read_bytes())
                restored.append(target)
    return restored


@contextlib.contextmanager
def keeping(root: Path, every_s: float = EVERY_S) -> Iterator[None]:
    """Keeps the state under ``root`` every ``every_s`` seconds while the block runs (a sweep in a subprocess),
    and once more when it ends, however it ends."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            keep(root)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        keep(root)
