"""Rich terminal output of a single run: the architecture as a table, the metrics, the time.

In a sweep (Hydra's multirun) the same summary goes to the trial's log file only
(``<sweep_dir>/<job>/<task>.log``): the sweep's console shows one line per trial instead
(:mod:`genarch.sweeper.progress`)."""

import io
import logging
from typing import Any, Mapping

from rich.console import Console
from rich.table import Table


def architecture_rows(model: Mapping[str, Any]) -> list[tuple[str, str]]:
    stem, res, red, rnn, pool, head = (model[k] for k in ("stem", "residual", "reduction", "rnn", "pooling", "head"))
    if stem.get("kind") == "explicit":
        layers = ", ".join(f"{l['filters']}x{l['width']}" + (f"/pool{l['pool']}" if l.get("pool", 1) > 1 else "")
                           for l in stem["layers"])
        trunk = f"explicit [{layers}], padding {stem.get('padding')}"
    else:
        trunk = (f"{stem['convs_before']} conv(s) of {stem['filters']} x {stem['filter_size']}"
                 + (", batch norm" if stem["batchnorm"] else ""))
    first_layer = f" (first layer {stem['first_activation']})" if stem.get("first_activation") else ""
    rows = [("activation", str(model["activation"]) + first_layer),
            ("conv trunk", trunk)]
    if res["kind"] != "none" and res["before"]:
        rows.append(("residual before", f"{res['before']} block(s)"))
    rows.append(("reduction", "none" if red["kind"] == "none" else f"{red['kind']} / {red['stride']}"))
    if stem.get("convs_after"):
        rows.append(("convs after", str(stem["convs_after"])))
    if res["kind"] != "none" and res["after"]:
        rows.append(("residual after", f"{res['after']} block(s)"))
    if rnn["kind"] != "none":
        rows.append(("recurrent", f"{rnn['layers']} x {rnn['kind']}({rnn['units']})"
                     + (", bidirectional" if rnn["bidirectional"] else "")
                     + f", output {rnn['output']}" + (f", clip {rnn['grad_clip']}" if rnn["grad_clip"] else "")))
    rows.append(("global pooling", pool["kind"]))
    dropout = f"dropout {float(head['dropout']):.3g}" if head["dropout"] else "no dropout"
    if head["layers"]:
        rows.append(("head", f"{head['layers']} x FC({head['units']})" + (", BN" if head["batchnorm"] else "")
                     + f", {dropout}, then linear output"))
    else:  # no hidden layer: units and batch norm are unused (dropout acts before the output layer)
        rows.append(("head", f"linear output, {dropout}"))
    return rows


def in_multirun() -> bool:
    """Whether this process runs a trial of a Hydra multirun (a sweep)."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    except Exception:  # noqa: BLE001 - no Hydra: a plain run
        return False


def log_to_files(text: str, logger: str = "genarch.run") -> int:
    """Write ``text`` as one INFO record to the root logger's file handlers only (a trial's job log);
    returns how many handlers took it."""
    record = logging.getLogger(logger).makeRecord(logger, logging.INFO, __file__, 0, "%s", (text,), None)
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)]
    for handler in handlers:
        if record.levelno >= handler.level:
            handler.handle(record)
    return len(handlers)


def print_run_summary(result: Mapping[str, Any], model: Mapping[str, Any], out_dir: str,
                      console: "Console | None" = None) -> None:
    if console is None and in_multirun():  # a sweep's trial: the summary goes to its log file
        buffer = io.StringIO()
        _print_run_summary(result, model, out_dir, Console(file=buffer, width=100, color_system=None))
        log_to_files("run summary:\n" + buffer.getvalue().rstrip())
        return
    _print_run_summary(result, model, out_dir, console or Console())


def _print_run_summary(result: Mapping[str, Any], model: Mapping[str, Any], out_dir: str, console: Console) -> None:
    arch = Table(title=f"architecture: {model.get('name', '?')}", show_header=False, title_justify="left")
    for key, value in architecture_rows(model):
        arch.add_row(key, value)
    arch.add_row("parameters", f"{result.get('n_params'):,}" if result.get("n_params") else "-")
    console.print(arch)

    metrics = Table(title="metrics", title_justify="left")
    metrics.add_column("metric")
    splits = [s for s in ("val", "test") if s in result.get("metrics", {})]
    for split in splits:
        metrics.add_column(split, justify="right")
    names = sorted({n for s in splits for n in result["metrics"][s] if "/" not in n})
    for name in names:
        metrics.add_row(name, *(_metric_text(result["metrics"][s].get(name)) for s in splits))
    console.print(metrics)
    objective = result["objective"]
    value = objective.get("value")
    status = ("[green]ok[/green]" if result["status"] == "ok"
              else f"[red]{result['status']}[/red]: {result.get('error')}")
    console.print(f"objective {objective['name']} ({objective['direction']}) = "
                  f"{value if value is None else round(value, 4)}   status {status}   "
                  f"epochs {result.get('epochs')}   time {result.get('wall_time_s', 0):.1f} s")
    console.print(f"result: {out_dir}/result.json")


def _metric_text(value: Any) -> str:
    """A metric for the table: 4 decimals, or "-" where it is undefined (null or NaN in result.json)."""
    return "-" if value is None or value != value else f"{value:.4f}"
