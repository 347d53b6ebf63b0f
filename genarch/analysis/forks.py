"""Fork detection: does the top-quantile tree show two or more distinct high-performing subspaces
that differ in a categorical choice (LSTM vs no RNN, attention vs max pool)?

A *high* leaf (see :mod:`genarch.analysis.top_tree`) holds a clear majority of top trials and a
fair share of all of them. A categorical parameter ``p`` forks the space when high leaves pin
``p`` to two or more different values *and* those leaves differ in something else as well (two
sibling leaves that differ only in ``p`` mean ``p`` does not matter there, not that there are two
designs). Each branch carries the categorical conditions common to all its high leaves
(``model/rnn=lstm AND model/reduction=maxpool``), which the branch's stage then fixes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from genarch.analysis.top_tree import Leaf, TopTree
from genarch.analysis.trials import TrialTable


@dataclass
class Branch:
    value: str
    conditions: dict[str, str]  # categorical param -> label, including the fork parameter
    leaves: list[Leaf] = field(default_factory=list)

    @property
    def n_top(self) -> int:
        return sum(leaf.n_top for leaf in self.leaves)

    @property
    def n(self) -> int:
        return sum(leaf.n for leaf in self.leaves)

    def to_dict(self) -> dict:
        return {"value": self.value, "conditions": self.conditions, "n": self.n, "n_top": self.n_top,
                "rules": [leaf.rule for leaf in self.leaves]}


@dataclass
class Fork:
    param: str
    branches: list[Branch]

    def to_dict(self) -> dict:
        return {"param": self.param, "branches": [b.to_dict() for b in self.branches]}


def _leaf_value(leaf: Leaf, param: str, table: TrialTable, tree: TopTree) -> Optional[str]:
    if param in leaf.equal:
        return leaf.equal[param]
    if param in leaf.excluded:  # "!= a": the value most of the leaf's top trials share, if clear
        members = np.ones(table.n, dtype=bool)
        for p, label in leaf.equal.items():
            members &= table.frame[p].astype(str).to_numpy() == label
        for p, labels in leaf.excluded.items():
            members &= ~np.isin(table.frame[p].astype(str).to_numpy(), labels)
        for p, (lo, hi) in leaf.bounds.items():
            col = table.frame[p].to_numpy(dtype=float)
            if lo is not None:
                members &= col > lo
            if hi is not None:
                members &= col <= hi
        top = table.frame[param].astype(str).to_numpy()[members & tree.mask]
        if len(top):
            value, count = Counter(top).most_common(1)[0]
            if count / len(top) >= 0.75:
                return value
    return None


def _rest(leaf: Leaf, param: str) -> tuple:
    return (
        tuple(sorted((p, v) for p, v in leaf.equal.items() if p != param)),
        tuple(sorted((p, tuple(v)) for p, v in leaf.excluded.items() if p != param)),
        tuple(sorted((p, tuple(b)) for p, b in leaf.bounds.items() if p != param)),
    )


def detect_fork(tree: TopTree, table: TrialTable, important: set[str]) -> Optional[Fork]:
    high = tree.high_leaves
    if len(high) < 2:
        return None
    depth_of: dict[str, int] = {}
    for leaf in high:
        for depth, (param, _, _) in enumerate(leaf.path):
            depth_of[param] = min(depth_of.get(param, depth), depth)
    candidates = []
    for param in table.params:
        if table.kinds[param] != "categorical" or param not in important:
            continue
        by_value: dict[str, list[Leaf]] = {}
        for leaf in high:
            value = _leaf_value(leaf, param, table, tree)
            if value is not None:
                by_value.setdefault(value, []).append(leaf)
        if len(by_value) < 2:
            continue
        groups = list(by_value.values())
        distinct = any(
            _rest(a, param) != _rest(b, param)
            for i, ga in enumerate(groups) for gb in groups[i + 1:] for a in ga for b in gb
        )
        if not distinct:
            continue
        candidates.append((depth_of.get(param, 99), param, by_value))
    if not candidates:
        return None
    _, param, by_value = min(candidates, key=lambda c: (c[0], c[1]))
    branches = []
    for value, leaves in by_value.items():
        common = None
        for leaf in leaves:
            eq = {p: v for p, v in leaf.equal.items() if table.kinds.get(p) == "categorical"}
            common = eq if common is None else {p: v for p, v in common.items() if eq.get(p) == v}
        conditions = {param: value, **{p: v for p, v in (common or {}).items() if p != param}}
        branches.append(Branch(value=value, conditions=conditions, leaves=leaves))
    branches.sort(key=lambda b: -b.n_top)
    return Fork(param=param, branches=branches)
