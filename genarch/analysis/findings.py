"""What an analysis found: the trials table, the tree over the top trials, the importances, the fork and
the next-stage proposals, with the files written. :mod:`~genarch.analysis.pipeline` computes it;
:mod:`~genarch.analysis.report` and :mod:`~genarch.analysis.summary` present it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from genarch.analysis.forks import Fork
from genarch.analysis.importance import Importance
from genarch.analysis.next_stage import Proposal
from genarch.analysis.space import Stage
from genarch.analysis.top_tree import TopTree
from genarch.analysis.trials import TrialTable, label


@dataclass
class Analysis:
    table: TrialTable
    stage: Optional[Stage]
    tree: TopTree
    importances: list[Importance]
    combined: dict[str, float]
    important: set[str]
    fork: Optional[Fork]
    proposals: list[Proposal]
    out_dir: Path
    files: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    proposal_error: Optional[str] = None  # why no next-stage YAML was written, if none could be

    def importance_text(self, param: str) -> str:
        parts = [f"{imp.method} {imp.mean[param]:.2f}±{imp.sd[param]:.2f}" for imp in self.importances]
        return f"{self.combined[param]:.2f} ({', '.join(parts)})"

    def ranking(self) -> list[str]:
        return sorted(self.table.params, key=lambda p: -self.combined[p])

    def top_trials(self, k: int = 10) -> "Any":
        frame = self.table.frame.copy()
        frame["top"] = self.tree.mask
        return frame.sort_values("score", ascending=False).head(k)

    def to_dict(self) -> dict:
        t = self.table
        return {
            "source": t.source, "metric": t.metric, "direction": t.direction,
            "n_total": t.n_total, "n_failed": t.n_failed, "n_used": t.n, "notes": t.notes,
            "params": {p: t.kinds[p] for p in t.params}, "constant": {k: label(v) for k, v in t.constant.items()},
            "stage": str(self.stage.path) if self.stage and self.stage.path else None,
            "tree": self.tree.to_dict(),
            "importance": {imp.method: imp.to_dict() for imp in self.importances},
            "combined_importance": dict(sorted(self.combined.items(), key=lambda kv: -kv[1])),
            "important": sorted(self.important, key=lambda p: -self.combined[p]),
            "fork": self.fork.to_dict() if self.fork else None,
            "next_stage": [p.to_dict() for p in self.proposals],
            "files": self.files, "warnings": self.warnings,
            "top_trials": self.top_trials(10).drop(columns=["top"]).to_dict(orient="records"),
            "rungs": [row.to_dict() for row in t.rungs],
        }
