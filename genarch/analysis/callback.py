"""Hydra callback: analyse every finished sweep (``on_multirun_end``).

Register it in ``conf/config.yaml``::

    hydra:
      callbacks:
        analysis:
          _target_: genarch.analysis.callback.AnalysisCallback
          # q: 0.2          top quantile
          # seeds: 5        importance seeds
          # enabled: true
          # pool: [multirun/stage1, multirun/stage2]   earlier sweeps whose trials inside this stage's space count too
          # rungs: rank    a multi-fidelity sweep: rank candidates across rungs (or top: one rung)

The callback holds only plain fields (launchers pickle callbacks) and imports the analysis
lazily. An analysis error is logged, never raised: a sweep is never failed by its post-mortem.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

from hydra.experimental.callback import Callback

log = logging.getLogger(__name__)


class AnalysisCallback(Callback):
    def __init__(self, q: float = 0.2, seeds: int = 5, n_estimators: int = 100, html: bool = True,
                 enabled: bool = True, print_summary: bool = True, stage: Optional[str] = None,
                 pool: Any = (), rungs: str = "rank") -> None:
        self.q = float(q)
        self.seeds = int(seeds)
        self.n_estimators = int(n_estimators)
        self.html = bool(html)
        self.enabled = bool(enabled)
        self.print_summary = bool(print_summary)
        self.stage = stage
        self.pool = tuple(str(p) for p in (pool or ()))  # plain strings: launchers pickle callbacks
        self.rungs = str(rungs)

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        if not self.enabled:
            return
        try:
            sweep_dir = Path(str(config.hydra.sweep.dir))
        except Exception:  # noqa: BLE001
            log.warning("genarch analysis skipped: config has no hydra.sweep.dir")
            return
        self.run(sweep_dir)

    def run(self, sweep_dir: Path) -> Optional[Any]:
        """Analyse ``sweep_dir``; returns the analysis, or None (message logged) if it could not be made."""
        try:
            from genarch.analysis.pipeline import AnalysisInputError, Options, analyze_sweep, write_failure
        except Exception:  # noqa: BLE001
            log.exception("genarch analysis unavailable")
            return None
        out = sweep_dir / "analysis"
        try:
            options = Options(q=self.q, seeds=self.seeds, n_estimators=self.n_estimators, html=self.html)
            analysis = analyze_sweep(sweep_dir, self.stage, out, options, pool=self.pool, rungs=self.rungs)
        except AnalysisInputError as exc:
            log.warning("genarch analysis: %s", exc)
            try:
                write_failure(out, str(exc))
            except OSError:
                pass
            return None
        except Exception:  # noqa: BLE001 - never fail the sweep
            log.exception("genarch analysis of %s failed", sweep_dir)
            return None
        if self.print_summary:
            try:
                from genarch.analysis.summary import print_summary

                print_summary(analysis)
            except Exception:  # noqa: BLE001
                log.exception("genarch analysis summary failed")
        log.info("genarch analysis written to %s", out)
        return analysis
