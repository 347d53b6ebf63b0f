"""The interactive figures of report.html (plotly): best-so-far history, parallel coordinates of the
most important hyperparameters, and one slice plot per top hyperparameter.

Each function returns a ``plotly.graph_objects.Figure``; :func:`figure_html` turns a list of them
into HTML fragments with plotly.js inlined once (in the first), so the report opens offline.
Computing is separate from writing: the figures read only the analysis' trial table and ranking.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from genarch.analysis.findings import Analysis
    from genarch.analysis.trials import TrialTable

TOP_AXES = 8     # parallel coordinates: the most important hyperparameters, not every one of a broad stage
TOP_SLICES = 6   # slice plots


def is_log(table: "TrialTable", param: str, stage=None) -> bool:
    """Whether a numeric parameter reads best on a log axis: the stage declares it ``tag(log, ...)``, or
    (no stage) its positive values span two orders of magnitude."""
    domain = stage.domains.get(param) if stage is not None else None
    if domain is not None and domain.kind == "interval":
        return bool(domain.log)
    x = table.frame[param].to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    return bool(len(x)) and x.min() > 0 and x.max() / x.min() >= 100


def history(table: "TrialTable") -> "go.Figure":
    """Every usable trial's objective in run order, and the best so far as a step line."""
    import plotly.graph_objects as go

    values = table.values
    best = np.maximum.accumulate(values) if table.direction == "maximize" else np.minimum.accumulate(values)
    x = np.arange(1, len(values) + 1)
    jobs = [str(j) for j in table.frame["job"]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=values, mode="markers", name="trial", customdata=jobs,
                             hovertemplate="trial %{x} (job %{customdata})<br>" + table.metric
                             + " %{y:.4g}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=best, mode="lines", name="best so far", line={"shape": "hv", "width": 2}))
    fig.update_layout(title=f"{table.metric} per trial and best so far ({table.direction})",
                      xaxis_title="trial (in the order they ran)", yaxis_title=table.metric, height=380,
                      margin={"l": 60, "r": 20, "t": 50, "b": 50}, legend={"orientation": "h", "y": -0.2})
    return fig


def _dimension(table: "TrialTable", param: str, stage=None) -> dict:
    column = table.frame[param]
    if table.kinds[param] == "categorical":
        cats = [c for c in table.categories(param) if c in set(column.astype(str))]
        code = {c: i for i, c in enumerate(cats)}
        return {"label": param, "values": [code[c] for c in column.astype(str)], "tickvals": list(range(len(cats))),
                "ticktext": cats, "range": [-0.5, len(cats) - 0.5]}
    x = column.to_numpy(dtype=float)
    if is_log(table, param, stage):
        lo, hi = np.log10(x.min()), np.log10(x.max())
        ticks = np.linspace(lo, hi, 4) if hi > lo else np.array([lo])
        return {"label": f"{param} (log)", "values": np.log10(x).tolist(), "tickvals": ticks.tolist(),
                "ticktext": [f"{10 ** t:.3g}" for t in ticks]}
    return {"label": param, "values": x.tolist()}


def parallel(table: "TrialTable", ranking: Sequence[str], stage=None, top: int = TOP_AXES) -> "go.Figure":
    """Parallel coordinates of the ``top`` most important hyperparameters and the metric, one line per
    trial coloured by the metric (drag along an axis to filter the trials)."""
    import plotly.graph_objects as go

    params = list(ranking)[:top]
    dims = [_dimension(table, p, stage) for p in params]
    dims.append({"label": table.metric, "values": table.values.tolist()})
    fig = go.Figure(go.Parcoords(line={"color": table.values.tolist(), "colorscale": "Viridis", "showscale": True,
                                       "reversescale": table.direction == "minimize",
                                       "colorbar": {"title": {"text": table.metric}}},
                                 dimensions=dims, labelangle=-20))
    left = len(ranking) - len(params)
    fig.update_layout(title=f"All {table.n} trials: the {len(params)} most important hyperparameters"
                            + (f" ({left} less important ones left out)" if left > 0 else ""),
                      height=480, margin={"l": 80, "r": 60, "t": 110, "b": 30})
    return fig


def slices(table: "TrialTable", ranking: Sequence[str], stage=None, top: int = TOP_SLICES) -> "go.Figure":
    """The metric against each of the ``top`` most important hyperparameters, one panel each (as
    ``optuna.visualization.plot_slice``), coloured by run order."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    params = list(ranking)[:top]
    cols = min(3, max(1, len(params)))
    rows = max(1, -(-len(params) // cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=params, shared_yaxes=True,
                        horizontal_spacing=0.06, vertical_spacing=0.18)
    order = np.arange(1, table.n + 1)
    jobs = [str(j) for j in table.frame["job"]]
    for i, param in enumerate(params):
        row, col = i // cols + 1, i % cols + 1
        column = table.frame[param]
        categorical = table.kinds[param] == "categorical"
        x = column.astype(str).tolist() if categorical else column.to_numpy(dtype=float).tolist()
        fig.add_trace(go.Scatter(x=x, y=table.values, mode="markers", showlegend=False, customdata=jobs,
                                 marker={"color": order, "colorscale": "Blues", "size": 7, "line": {"width": 0.5},
                                         "showscale": i == 0, "colorbar": {"title": {"text": "trial #"}}},
                                 hovertemplate=param + " %{x}<br>" + table.metric
                                 + " %{y:.4g}<br>job %{customdata}<extra></extra>"),
                      row=row, col=col)
        if categorical:
            fig.update_xaxes(type="category", categoryorder="array",
                             categoryarray=[c for c in table.categories(param) if c in set(x)], row=row, col=col)
        elif is_log(table, param, stage):
            fig.update_xaxes(type="log", row=row, col=col)
    fig.update_yaxes(title_text=table.metric, col=1)
    fig.update_layout(title="Slice plots: the metric against each of the most important hyperparameters",
                      height=300 * rows + 80, margin={"l": 60, "r": 20, "t": 80, "b": 40})
    return fig


def figures(analysis: "Analysis") -> dict[str, "go.Figure"]:
    """The report's interactive figures by section name."""
    t, stage, ranking = analysis.table, analysis.stage, analysis.ranking()
    return {"history": history(t), "parallel": parallel(t, ranking, stage), "slices": slices(t, ranking, stage)}


def figure_html(figs: Sequence["go.Figure"], div_ids: Optional[Sequence[str]] = None) -> list[str]:
    """HTML fragments; plotly.js is inlined in the first one only (no CDN: the page works offline)."""
    out = []
    for i, fig in enumerate(figs):
        out.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0), div_id=div_ids[i] if div_ids else None,
                               config={"displaylogo": False, "responsive": True}))
    return out
