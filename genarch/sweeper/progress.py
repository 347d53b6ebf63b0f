"""Watching a sweep: one console line per finished trial and a rich progress bar.

The console shows, per trial the launcher ran (or a resume replayed)::

    trial 3/6 (job 3)  val_auroc 0.6265  best 0.6265  elapsed 0:13  ETA 0:20

and, on a terminal, a progress bar below those lines. The per-trial detail that used to fill the
console (the launcher's ``#k : <overrides>`` lines, the sweeper's ``job k (new) <value> {params}``
lines, cache hits, the best trial's parameters) goes to ``<sweep_dir>/sweep.log`` only, with every
other line the sweeper process logs. Each trial's own output (its architecture and metrics tables)
goes to its job's log file (``<sweep_dir>/<job>/<task>.log``; see :mod:`genarch.console`).

How the detail leaves the console: Hydra's launchers re-apply ``hydra.hydra_logging`` at every
launch, so :func:`route_detail_to_log` adds to that config (in the sweeper process only) a filter on
its console handlers and a file handler for ``sweep.log``; every later reconfiguration keeps both.

The sweeper calls three things: :meth:`SweepProgress.begin` once, :meth:`SweepProgress.batch_done`
after each batch, :meth:`SweepProgress.close` at the end (a sweep that dies before it stops the
bar at exit, without a last line).
"""

import atexit
import logging
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

LOG_FILE = "sweep.log"
FILTER_NAME = "genarch_trial_detail"
HANDLER_NAME = "genarch_sweep_log"
# format strings of the sweeper's per-trial INFO lines (genarch.sweeper._impl); warnings always print
DETAIL_PREFIXES = ("job %s", "candidate already evaluated", "best: job")


class TrialDetailFilter(logging.Filter):
    """Keeps per-trial detail off the console: the launchers' INFO lines (``Launching 2 jobs locally``,
    ``#0 : <overrides>``) and the sweeper's per-trial INFO lines. Warnings and errors always pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        if "launcher" in record.name:
            return False
        return not (record.name.startswith("genarch.sweeper") and str(record.msg).startswith(DETAIL_PREFIXES))


def route_detail_to_log(config: Any, sweep_dir: Path) -> Optional[Path]:
    """Add the console filter and ``<sweep_dir>/sweep.log`` to ``config.hydra.hydra_logging`` (the
    logging the launchers re-apply) and apply it now. Returns the log file, or None where the config
    has no dictConfig-style logging to extend (``hydra/hydra_logging=disabled``, a test's bare config)."""
    from hydra.core.utils import configure_log
    from omegaconf import DictConfig, open_dict, read_write

    try:
        logging_cfg = config.hydra.hydra_logging
    except Exception:  # noqa: BLE001 - a config without hydra logging: leave logging as it is
        return None
    if not isinstance(logging_cfg, DictConfig) or not isinstance(logging_cfg.get("handlers"), DictConfig) \
            or not isinstance(logging_cfg.get("root"), DictConfig):
        return None
    path = (Path(sweep_dir) / LOG_FILE).resolve()
    with read_write(config), open_dict(config):
        if HANDLER_NAME not in logging_cfg.handlers:
            logging_cfg.filters = {**(logging_cfg.get("filters") or {}),
                                   FILTER_NAME: {"()": f"{__name__}.TrialDetailFilter"}}
            for handler in logging_cfg.handlers.values():
                if str(handler.get("class", "")).endswith("StreamHandler"):  # the console ones, not files
                    handler.filters = [*(handler.get("filters") or []), FILTER_NAME]
            logging_cfg.formatters = {**(logging_cfg.get("formatters") or {}),
                                      HANDLER_NAME: {"format": "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"}}
            logging_cfg.handlers[HANDLER_NAME] = {"class": "logging.FileHandler", "formatter": HANDLER_NAME,
                                                  "filename": str(path), "mode": "a", "encoding": "utf-8"}
            logging_cfg.root.handlers = [*(logging_cfg.root.get("handlers") or []), HANDLER_NAME]
    configure_log(logging_cfg, config.hydra.get("verbose", False))
    return path


def clock(seconds: Optional[float]) -> str:
    """``m:ss`` or ``h:mm:ss``; ``?`` when unknown."""
    if seconds is None or seconds != seconds:
        return "?"
    seconds = int(round(max(0.0, seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _number(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.4g}"


class SweepProgress:
    """Counts finished trials against the budget, keeps the best value, prints one line per trial and
    drives a rich progress bar on a terminal (none when the output is a file or a pipe)."""

    def __init__(self, budget: int, sweep_dir: Optional[Path] = None, console: Any = None,
                 bar: Optional[bool] = None) -> None:
        from rich.console import Console

        self.budget = int(budget)
        self.sweep_dir = sweep_dir
        self.log_file: Optional[Path] = None
        self.console = console or Console()
        self.done = self.fresh = self.failed = self.rejected = self.cached = 0
        self.best: Optional[tuple[float, Any, str, str]] = None  # value, job, metric, direction
        self.started = time.monotonic()
        self.fresh_time = 0.0  # seconds spent on trials this process ran (not replayed ones)
        self._last = self.started
        self._progress = None
        self._task = None
        self.closed = False
        if bar if bar is not None else (self.console.is_terminal and not self.console.is_dumb_terminal):
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("[bold]sweep[/]"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.fields[best]}"), TimeElapsedColumn(),
                                      console=self.console, transient=True)
            self._task = self._progress.add_task("sweep", total=self.budget, best="")
            self._progress.start()
            atexit.register(self._stop_bar)  # a sweep that dies leaves the terminal as it found it

    @classmethod
    def begin(cls, config: Any, sweep_dir: Path, budget: int, **kwargs: Any) -> "SweepProgress":
        """Start watching a sweep: the progress bar, then the per-trial detail routed to ``sweep.log``."""
        progress = cls(budget, sweep_dir, **kwargs)
        progress.log_file = route_detail_to_log(config, sweep_dir)
        return progress

    # ---- per batch ---------------------------------------------------------------------------------
    def batch_done(self, batch: Iterable[Any], replayed: Mapping[Any, Any] = ()) -> list[str]:
        """One line per trial of the batch that ran (or was replayed from a resumed sweep's ledger) or
        was rejected as an illegal model; cache hits only count. Returns the lines printed."""
        now = time.monotonic()
        batch = list(batch)
        ran = [c for c in batch if getattr(c, "source", "new") == "new" and c.outcome.status != "rejected"]
        fresh = [c for c in ran if c.job not in replayed]
        if fresh:  # the batch's wall time is shared by the trials it ran
            self.fresh_time += now - self._last
            self.fresh += len(fresh)
        self._last = now
        lines = []
        for c in batch:
            o = c.outcome
            if getattr(c, "source", "new") != "new":
                self.cached += 1
                continue
            if o.status == "rejected":
                self.rejected += 1
                reason = " ".join(line.strip() for line in (o.error or "").splitlines() if line.strip())
                lines.append(f"rejected (job {c.job}): {reason}")
                continue
            self.done += 1
            if o.status == "ok" and o.value is not None:
                direction = o.direction or "minimize"
                if self.best is None or (o.value > self.best[0] if direction == "maximize" else o.value < self.best[0]):
                    self.best = (float(o.value), c.job, o.name or "objective", direction)
                what = f"{o.name or 'objective'} {_number(o.value)}"
            else:
                self.failed += 1
                what = "failed: " + " ".join((o.error or "").split())
            tag = " replayed" if c.job in replayed else ""
            lines.append(f"trial {self.done}/{self.budget} (job {c.job}{tag})  {what}  {self._best_text()}  "
                         f"elapsed {clock(now - self.started)}  ETA {clock(self.eta())}")
        for line in lines:
            self.console.print(line, highlight=False, markup=False, no_wrap=True, overflow="ellipsis")
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done, best=self._best_text())
        return lines

    def eta(self) -> Optional[float]:
        """Seconds left at the mean time per trial this process ran; None before the first one."""
        if not self.fresh:
            return None
        return self.fresh_time / self.fresh * max(0, self.budget - self.done)

    def _best_text(self) -> str:
        return "best -" if self.best is None else f"best {_number(self.best[0])}"

    # ---- the end -----------------------------------------------------------------------------------
    def _stop_bar(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            atexit.unregister(self._stop_bar)
            self._progress = None

    def close(self, stopped: Optional[str] = None) -> None:
        """Stop the bar and print the sweep's last line (once)."""
        if self.closed:
            return
        self.closed = True
        self._stop_bar()
        parts = [f"{self.done} trials ({self.done - self.failed} ok, {self.failed} failed)"]
        if self.rejected or self.cached:
            parts.append(f"{self.rejected} rejected, {self.cached} cached")
        parts.append(f"in {clock(time.monotonic() - self.started)}")
        best = "" if self.best is None else f"; best {self.best[2]} {_number(self.best[0])} (job {self.best[1]})"
        self.console.print(f"sweep done: {', '.join(parts)}{best}" + (" (stopped early)" if stopped else ""),
                           highlight=False, markup=False)
        if self.log_file is not None:
            self.console.print(f"per-trial detail: {self.log_file}", highlight=False, markup=False)
