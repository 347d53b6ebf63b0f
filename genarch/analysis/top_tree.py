"""Top-quantile decision tree: which hyperparameter settings hold the best trials?

The best ``q`` of the usable trials (direction-aware: for a loss, the lowest) are labelled *top*;
a shallow, cost-complexity-pruned ``DecisionTreeClassifier`` learns top vs rest from the
hyperparameters (numeric as numbers, categorical as one-hot ``param=value`` indicators, so every
split reads ``param = value?`` or ``param <= threshold?``). Each leaf is turned into a rule with
its conditions merged per parameter, how many trials it holds, what share of them are top
(*precision*) and what share of all top trials it captures (*coverage*).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
from sklearn.tree import DecisionTreeClassifier

from genarch.analysis.features import Encoded, encode
from genarch.analysis.trials import TrialTable


def top_mask(table: TrialTable, q: float) -> np.ndarray:
    """Boolean mask of the best ``q`` of trials (at least 2, at most n - 1, before ties).

    Trials with equal scores always fall on the same side of the cut: every trial tied with the last
    one taken is top too, so which of them count never depends on ledger order (the order parallel
    workers finished in). If the tie reaches the worst trial, only the strictly better ones are top."""
    if not 0 < q < 1:
        raise ValueError(f"top quantile must be in (0, 1), got {q}")
    score = table.score
    n_top = min(max(2, int(round(q * len(score)))), len(score) - 1)
    order = np.argsort(-score, kind="stable")
    cut = score[order[n_top - 1]]
    mask = score >= cut
    if mask.all():
        mask = score > cut
    if not mask.any():  # every score equal (refused upstream); keep the documented count
        mask = np.zeros(len(score), dtype=bool)
        mask[order[:n_top]] = True
    return mask


@dataclass
class Leaf:
    node: int
    path: list[tuple[str, str, Any]]  # (param, op, value) as split, op in = != <= >
    n: int
    n_top: int
    precision: float  # share of the leaf's trials that are top
    coverage: float  # share of all top trials that fall in this leaf
    mean_value: float
    equal: dict[str, str] = field(default_factory=dict)
    excluded: dict[str, list[str]] = field(default_factory=dict)
    bounds: dict[str, list[Optional[float]]] = field(default_factory=dict)  # (lo exclusive, hi inclusive)
    rule: str = ""
    high: bool = False

    def to_dict(self) -> dict:
        return {"node": self.node, "rule": self.rule, "n": self.n, "n_top": self.n_top,
                "precision": self.precision, "coverage": self.coverage, "mean_value": self.mean_value,
                "high": self.high, "equal": self.equal, "excluded": self.excluded,
                "bounds": {p: list(b) for p, b in self.bounds.items()}}


@dataclass
class TopTree:
    q: float
    n: int
    n_top: int
    mask: np.ndarray
    threshold: float  # worst metric value still in the top
    leaves: list[Leaf]
    params_used: list[str]
    model: Any
    enc: Encoded
    metric: str
    direction: str

    @property
    def high_leaves(self) -> list[Leaf]:
        return [leaf for leaf in self.leaves if leaf.high]

    def to_dict(self) -> dict:
        return {"q": self.q, "n": self.n, "n_top": self.n_top, "threshold": self.threshold,
                "params_used": self.params_used, "leaves": [leaf.to_dict() for leaf in self.leaves]}


def fmt(value: float) -> str:
    return f"{value:.3g}"


@dataclass
class Node:
    """A tree node: a split on one encoded column, or a leaf (``col is None``)."""

    col: Optional[int] = None
    threshold: float = 0.5
    left: Optional["Node"] = None  # column value <= threshold
    right: Optional["Node"] = None
    members: Optional[np.ndarray] = None  # leaf: boolean mask over the trials
    id: int = 0

    @property
    def is_leaf(self) -> bool:
        return self.col is None


def _gini(y: np.ndarray) -> float:
    if len(y) == 0:
        return 0.0
    p = float(np.mean(y))
    return 2.0 * p * (1.0 - p)


def _sk_subtree(X: np.ndarray, y: np.ndarray, idx: np.ndarray, depth: int, min_leaf: int, alpha: float) -> Node:
    """Fit a pruned sklearn tree on rows ``idx`` and convert it to :class:`Node` (members over all rows)."""
    n_all = len(y)

    def leaf(rows: np.ndarray) -> Node:
        mask = np.zeros(n_all, dtype=bool)
        mask[rows] = True
        return Node(members=mask)

    if depth <= 0 or len(idx) < 2 * min_leaf or len(np.unique(y[idx])) < 2:
        return leaf(idx)
    model = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=min_leaf, ccp_alpha=alpha, random_state=0)
    model.fit(X[idx], y[idx])
    t = model.tree_

    def convert(node: int, rows: np.ndarray) -> Node:
        if t.children_left[node] == t.children_right[node]:
            return leaf(rows)
        col, thr = int(t.feature[node]), float(t.threshold[node])
        go_left = X[rows, col] <= thr
        return Node(col=col, threshold=thr, left=convert(t.children_left[node], rows[go_left]),
                    right=convert(t.children_right[node], rows[~go_left]))

    return convert(0, idx)


def _leaves(node: Node) -> list[Node]:
    return [node] if node.is_leaf else _leaves(node.left) + _leaves(node.right)


def _cost(root: Node, y: np.ndarray, alpha: float) -> float:
    """Cost-complexity of a tree: weighted leaf Gini impurity + ``alpha`` per leaf (as sklearn prunes)."""
    n = len(y)
    return sum(leaf.members.sum() / n * _gini(y[leaf.members]) for leaf in _leaves(root)) + alpha * len(_leaves(root))


def _candidate_thresholds(column: np.ndarray) -> list[float]:
    distinct = np.unique(column)
    if len(distinct) <= 1:
        return []
    if len(distinct) <= 10:
        return list((distinct[:-1] + distinct[1:]) / 2)
    qs = np.unique(np.quantile(column, np.linspace(0.1, 0.9, 9)))
    return [float(q) for q in qs if distinct[0] <= q < distinct[-1]]


def build_tree(X: np.ndarray, y: np.ndarray, *, max_depth: int, min_leaf: int, alpha: float) -> Node:
    """A shallow classification tree whose root split is chosen with one level of lookahead.

    Greedy CART cannot see an interaction such as "LSTM + max pool or no RNN + attention" (an
    XOR: neither choice alone separates top from rest), so every candidate root split is scored
    by the pruned cost of the best sklearn subtrees under it; below the root sklearn's greedy
    cost-complexity-pruned tree is used as is. The plain sklearn tree is always a candidate.
    """
    idx = np.arange(len(y))
    best = _sk_subtree(X, y, idx, max_depth, min_leaf, alpha)
    best_cost = _cost(best, y, alpha)
    for col in range(X.shape[1]):
        for thr in _candidate_thresholds(X[:, col]):
            go_left = X[:, col] <= thr
            if go_left.sum() < min_leaf or (~go_left).sum() < min_leaf:
                continue
            node = Node(col=col, threshold=float(thr),
                        left=_sk_subtree(X, y, idx[go_left], max_depth - 1, min_leaf, alpha),
                        right=_sk_subtree(X, y, idx[~go_left], max_depth - 1, min_leaf, alpha))
            cost = _cost(node, y, alpha)
            if cost < best_cost - 1e-12:
                best, best_cost = node, cost
    # prune splits whose two children are both leaves of the same majority class and gain < alpha
    best = _prune(best, y, alpha)
    for i, node in enumerate(_walk(best)):
        node.id = i
    return best


def _walk(node: Node) -> list[Node]:
    return [node] if node.is_leaf else [node] + _walk(node.left) + _walk(node.right)


def _prune(node: Node, y: np.ndarray, alpha: float) -> Node:
    if node.is_leaf:
        return node
    node.left, node.right = _prune(node.left, y, alpha), _prune(node.right, y, alpha)
    if node.left.is_leaf and node.right.is_leaf:
        merged = node.left.members | node.right.members
        n = len(y)
        split_cost = sum(c.members.sum() / n * _gini(y[c.members]) for c in (node.left, node.right)) + 2 * alpha
        if merged.sum() / n * _gini(y[merged]) + alpha <= split_cost:
            return Node(members=merged)
    return node


def fit_top_tree(table: TrialTable, q: float = 0.2, max_depth: int = 3, ccp_alpha: float = 0.01) -> TopTree:
    mask = top_mask(table, q)
    enc = encode(table)
    n = len(mask)
    y = mask.astype(int)
    root = build_tree(enc.X, y, max_depth=max_depth, min_leaf=max(2, math.ceil(0.05 * n)), alpha=ccp_alpha)
    values = table.values
    n_top = int(mask.sum())
    base = n_top / n
    leaves: list[Leaf] = []
    used: list[str] = []

    def walk(node: Node, path: list[tuple[str, str, Any]]) -> None:
        if node.is_leaf:
            members = node.members
            k = int(mask[members].sum())
            m = int(members.sum())
            leaf = Leaf(node=node.id, path=list(path), n=m, n_top=k, precision=k / m if m else 0.0,
                        coverage=k / n_top, mean_value=float(values[members].mean()) if m else float("nan"))
            _merge(leaf, table)
            leaf.high = leaf.precision >= max(0.5, 2 * base) and k >= max(2, math.ceil(0.15 * n_top))
            leaves.append(leaf)
            return
        param = enc.param_of[node.col]
        if param not in used:
            used.append(param)
        cat = enc.category_of[node.col]
        if cat is None:
            walk(node.left, path + [(param, "<=", node.threshold)])
            walk(node.right, path + [(param, ">", node.threshold)])
        else:  # one-hot: left is "indicator <= 0.5", i.e. not this category
            walk(node.left, path + [(param, "!=", cat)])
            walk(node.right, path + [(param, "=", cat)])

    walk(root, [])
    leaves.sort(key=lambda l: (-l.n_top, -l.precision))
    worst = values[mask].min() if table.direction == "maximize" else values[mask].max()
    return TopTree(q=q, n=n, n_top=n_top, mask=mask, threshold=float(worst), leaves=leaves, params_used=used,
                   model=root, enc=enc, metric=table.metric, direction=table.direction)


def _merge(leaf: Leaf, table: TrialTable) -> None:
    order: list[str] = []
    for param, op, value in leaf.path:
        if param not in order:
            order.append(param)
        if op == "=":
            leaf.equal[param] = value
        elif op == "!=":
            leaf.excluded.setdefault(param, [])
            if value not in leaf.excluded[param]:
                leaf.excluded[param].append(value)
        else:
            lo, hi = leaf.bounds.get(param, [None, None])
            if op == "<=":
                hi = value if hi is None else min(hi, value)
            else:
                lo = value if lo is None else max(lo, value)
            leaf.bounds[param] = [lo, hi]
    # "!= a AND != b" over a three-way choice is "= c"
    for param, excluded in list(leaf.excluded.items()):
        if param in leaf.equal:
            del leaf.excluded[param]
            continue
        rest = [c for c in table.categories(param) if c not in excluded]
        if len(rest) == 1:
            leaf.equal[param] = rest[0]
            del leaf.excluded[param]
    parts = []
    for param in order:
        if param in leaf.equal:
            parts.append(f"{param}={leaf.equal[param]}")
        elif param in leaf.excluded:
            parts.append(" AND ".join(f"{param}!={c}" for c in leaf.excluded[param]))
        elif param in leaf.bounds:
            lo, hi = leaf.bounds[param]
            if lo is not None and hi is not None:
                parts.append(f"{fmt(lo)} < {param} <= {fmt(hi)}")
            elif hi is not None:
                parts.append(f"{param} <= {fmt(hi)}")
            else:
                parts.append(f"{param} > {fmt(lo)}")
    leaf.rule = " AND ".join(parts) if parts else "(all trials)"


def rules_text(tree: TopTree) -> str:
    cmp = ">=" if tree.direction == "maximize" else "<="
    lines = [
        f"Top {tree.q:.0%} = {tree.n_top} of {tree.n} trials "
        f"({tree.metric} {cmp} {tree.threshold:.4g}, {tree.direction})",
        "Tree splits on: " + (', '.join(tree.params_used) if tree.params_used
                              else '(nothing: no split separates top from rest)'),
        "",
    ]
    for leaf in tree.leaves:
        mark = "  [HIGH]" if leaf.high else ""
        lines.append(
            f"{leaf.rule} -> {leaf.coverage:.0%} of top models ({leaf.n_top}/{tree.n_top}); "
            f"leaf: {leaf.n} trials, {leaf.precision:.0%} top, mean {tree.metric} {leaf.mean_value:.4g}{mark}"
        )
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(tree: TopTree) -> str:
    enc = tree.enc
    leaf_by_node = {leaf.node: leaf for leaf in tree.leaves}
    lines = [
        "digraph toptree {",
        '  graph [rankdir=TB, fontname="Helvetica", label="' + _quote(
            f"Top {tree.q:.0%} of {tree.n} trials by {tree.metric} ({tree.direction}): {tree.n_top} top")
        + '", labelloc=t];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for node in _walk(tree.model):
        if node.is_leaf:
            leaf = leaf_by_node[node.id]
            shade = int(255 - 150 * leaf.precision)
            color = f"#{shade:02x}ff{shade:02x}" if leaf.high else "#ffffff"
            label = f"{leaf.n} trials\\n{leaf.n_top} top ({leaf.precision:.0%})\\n{leaf.coverage:.0%} of all top"
            pen = ", penwidth=2" if leaf.high else ""
            lines.append(f'  n{node.id} [label="{label}", fillcolor="{color}"{pen}];')
        else:
            cat = enc.category_of[node.col]
            param = enc.param_of[node.col]
            question = f"{param} = {cat} ?" if cat is not None else f"{param} <= {fmt(node.threshold)} ?"
            lines.append(f'  n{node.id} [label="{_quote(question)}", fillcolor="#eef2ff"];')
            # one-hot: left child is "not this category" -> edge "no"; numeric: left is "<=" -> "yes"
            left_label, right_label = ("no", "yes") if cat is not None else ("yes", "no")
            lines.append(f'  n{node.id} -> n{node.left.id} [label="{left_label}"];')
            lines.append(f'  n{node.id} -> n{node.right.id} [label="{right_label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot: str, stem: "str", formats: tuple[str, ...] = ("svg", "png")) -> list[str]:
    """Render DOT source to ``<stem>.<fmt>`` with graphviz; returns the files written."""
    import graphviz

    from genarch.io import atomic_write_bytes, atomic_write_text

    written = []
    atomic_write_text(f"{stem}.dot", dot)
    source = graphviz.Source(dot)
    for fmt_ in formats:
        path = f"{stem}.{fmt_}"
        atomic_write_bytes(path, source.pipe(format=fmt_))
        written.append(path)
    return written
