"""A models x items x seeds benchmark grid under one named training protocol (TFBS head-to-head,
regression, GUE): the shared command line, resumable slices of the grid, and one genarch run per cell.

Resumable: every (model, item, seed) run keeps its result.json; a run with status ok that was trained with
the config the cell's overrides compose today is skipped, so a command stopped at any point is continued by
running it again. "The config" is the hash of the run's composed ``model`` + ``optimizer`` + ``trainer``
(from result.json's hparams, without the keys that only say where it ran: accelerator, devices, threads,
...), written with the overrides to ``cell.json``; a run made with another contender or an old preset
hashes differently and counts as missing: it is retrained, and the tables never mix it with current runs.
``--chunk I/N`` runs only the I-th of N contiguous slices of the grid (seed-major, so early chunks complete
whole items for every model) and ``--limit K`` stops after K new trainings, to fit a session;
``--aggregate-only`` rebuilds the tables (of exactly the ``--models`` given; after new runs a table keeps the
rows it had and adds the command's new ones). Within a cell, every epoch leaves ``checkpoints/last.ckpt``: a cell
stopped mid-training continues from its last finished epoch when the command runs again.
``--debug-max-train N`` caps the training sequences for a smoke run: its runs and tables go to
separate ``*_debugN`` folders under experiments/runs and never mix with real results.

Kept: experiments/runs is a scratch folder that a new checkout does not have. So every finished cell also
leaves a record, its result.json and the hash of the config it trained, under
``experiments/results/cells/<grid>/<protocol>/<model>/<item>/seed<k>.json``, committed with the tables. A cell
whose run folder is gone counts by its record: it is neither retrained nor dropped from the tables."""

import argparse
import dataclasses
import functools
import hashlib
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from experiments.tables import RESULTS, ROOT, RUNS, read_ok
from genarch.io import atomic_write_json
from genarch.sweeper.fidelity import LAST_CHECKPOINT
from genarch.task_rules import RUN_ONLY_KEYS

CELL_FILE = "cell.json"  # the overrides of a grid run and the hash of the config it trained
HASHED = ("model.", "optimizer.", "trainer.")
# trainer keys that say where and how a run was executed, not what it trained: chunks run on other machines,
# with other thread counts, still match
RUN_ENVIRONMENT = frozenset({*RUN_ONLY_KEYS, "trainer.accelerator", "trainer.devices",
                             "trainer.trials_per_gpu", "trainer.save_checkpoint", "trainer.save_last",
                             "trainer.resume_from"})
STARTED_FILE = "cell_started.json"  # written before a cell trains: the config hash its checkpoints belong to
LAST_CKPT = Path(LAST_CHECKPOINT)  # rewritten after every epoch (trainer.save_last)
CELLS = "cells"  # experiments/results/cells/<grid>/<protocol>/<model>/<item>/seed<k>.json: each finished cell's record
SMOKE = "_debug"  # a smoke run's protocol folder is <protocol>_debug<N>
# the key of a record rebuilt from a committed table after its run folder was lost: it holds what the table held
# (seed, test metric, device; "stopped_early": true where the table's counts prove it), no epoch count, no run time
RECOVERED = "recovered_from"


@dataclass(frozen=True)
class Protocol:
    """How every model of a grid is trained and tested; ``name`` names its run folders and tables."""

    name: str
    title: str
    max_train: Optional[int]   # None: all training sequences
    max_epochs: int
    patience: int              # early stopping on the validation objective; the best epoch's weights are kept
    data_seed: Optional[int] = None  # fixed: the data split (test included) stays the same across seeds

    def overrides(self) -> list[str]:
        out = [f"dataset.max_train={'null' if self.max_train is None else self.max_train}",
               f"trainer.max_epochs={self.max_epochs}", f"trainer.patience={self.patience}"]
        if self.data_seed is not None:
            out.append(f"dataset.seed={self.data_seed}")
        return out


def full_protocol(data: str, data_seed: Optional[int] = None) -> Protocol:
    """The headline protocol of every grid: ``data`` (all training sequences), early stopping with patience 5
    and a cap of 100 epochs that no model should reach; ``data_seed`` fixes the split across seeds."""
    fixed = "" if data_seed is None else f", data split fixed across seeds (dataset.seed={data_seed})"
    return Protocol("full", f"{data}, early stopping (patience 5, at most 100 epochs){fixed}",
                    max_train=None, max_epochs=100, patience=5, data_seed=data_seed)


SMALL_DATA = Protocol("mt4000_default_ep10", "small-data: 4,000 training sequences, at most 10 epochs, patience 3",
                      max_train=4000, max_epochs=10, patience=3)


def protocol_name(args: argparse.Namespace) -> str:
    debug = getattr(args, "debug_max_train", None)
    return args.protocol.name + (f"{SMOKE}{debug}" if debug else "")


def results_dir(args: argparse.Namespace) -> Path:
    """experiments/results for real runs; a smoke (``--debug-max-train``) writes its tables beside its runs."""
    return RUNS / "debug_results" if getattr(args, "debug_max_train", None) else RESULTS


def grid_parser(doc: Optional[str], *, models: Sequence[str], items_flag: str, items: Sequence[str],
                protocols: Mapping[str, Protocol], default_protocol: str = "full") -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(models))
    ap.add_argument(items_flag, nargs="+", default=list(items))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--protocol", choices=list(protocols), default=default_protocol,
                    help="; ".join(f"{k}: {p.title}" for k, p in protocols.items()))
    ap.add_argument("--threads", default="1", help="torch threads per run (an integer or 'auto')")
    ap.add_argument("--device", default=None, help="passed as trainer.accelerator (cpu, gpu, auto); default: genarch's")
    ap.add_argument("--chunk", default=None, metavar="I/N", help="run only the I-th of N contiguous slices of the grid")
    ap.add_argument("--limit", type=int, default=None, help="stop after this many new trainings")
    ap.add_argument("--debug-max-train", type=int, default=None, metavar="N",
                    help="smoke run: at most N training sequences, separate *_debugN run and table folders")
    ap.add_argument("--aggregate-only", action="store_true")
    ap.set_defaults(_protocols=dict(protocols))
    return ap


def parse_grid_args(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    args.protocol = args._protocols[args.protocol]
    if args.chunk is not None:
        chunk_bounds(args.chunk, 1)  # a malformed --chunk fails before anything runs
    if args.device is not None:
        check_device(args.device)
    return args


def plan(seeds: Sequence[int], items: Sequence[str], models: Sequence[str]) -> list[tuple[str, str, int]]:
    """Seed-major, then item, then model: a partial grid leaves whole items for every model."""
    return [(model, item, seed) for seed in seeds for item in items for model in models]


def chunk_bounds(chunk: str, size: int) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in chunk.split("/"))
    except ValueError:
        raise SystemExit(f"--chunk {chunk!r}: expected I/N, e.g. 2/10") from None
    if not 1 <= i <= n:
        raise SystemExit(f"--chunk {chunk!r}: I must be in 1..N")
    step = math.ceil(size / n)
    return (i - 1) * step, min(size, i * step)


def run_grid(args: argparse.Namespace, items: Sequence[str], run_one: Callable[[str, str, int], bool],
             aggregate: Callable[[], Any]) -> int:
    """Train what is missing of the (chunk of the) grid; ``run_one`` returns True when it trained. Tables are
    rebuilt after every new run. Returns the number of new trainings."""
    cells = plan(args.seeds, items, args.models)
    if getattr(args, "chunk", None):
        lo, hi = chunk_bounds(args.chunk, len(cells))
        cells = cells[lo:hi]
    trained = 0
    for model, item, seed in cells:
        if getattr(args, "limit", None) is not None and trained >= args.limit:
            print(f"--limit {args.limit} reached; run the same command again to continue", flush=True)
            break
        if run_one(model, item, seed):
            trained += 1
            aggregate()
    return trained


def table_path(args: argparse.Namespace, names: Mapping[str, str], grid: str) -> Path:
    """Where a grid's table goes: ``experiments/results/<name>.json`` (``names`` maps a protocol to its name,
    else ``<grid>_<protocol>``; a smoke's ``_debugN`` table beside its runs); .md and .png beside it."""
    name = names.get(args.protocol.name, f"{grid}_{args.protocol.name}")
    return results_dir(args) / (name + (f"_debug{args.debug_max_train}" if args.debug_max_train else "") + ".json")


def table_args(args: argparse.Namespace, table_json: Path) -> argparse.Namespace:
    """The arguments the tables are rebuilt with after new runs: the rows the table at ``table_json`` has
    now, then this command's ``--models`` not among them; a run of one model must not rewrite the table
    with that row alone. ``--aggregate-only`` builds the table of exactly the ``--models`` given."""
    if args.aggregate_only or not table_json.exists():
        return args
    rows = table_rows(table_json)
    return argparse.Namespace(**{**vars(args), "models": rows + [m for m in args.models if m not in rows]})


# where a table names its rows: every grid writes "contenders"; tables written before it did name them under
# "models" (head-to-head), "per_seed" (regression) or "results" (GUE)
TABLE_ROW_KEYS = ("contenders", "models", "per_seed", "results")


def table_rows(table_json: Path) -> list[str]:
    """The rows (models) of a table a grid wrote; a file that is not one is refused by name."""
    try:
        table = json.loads(table_json.read_text(encoding="utf-8"))
        rows = next((list(table[k]) for k in TABLE_ROW_KEYS if isinstance(table, dict) and table.get(k)), None)
    except (OSError, ValueError) as err:  # ValueError: not JSON, or not UTF-8
        rows, why = None, f"unreadable ({err})"
    else:
        why = f"names no rows (none of {', '.join(TABLE_ROW_KEYS)})"
    if not rows or not all(isinstance(r, str) for r in rows):
        raise SystemExit(f"{table_json}: {why if not rows else 'rows are not model names'}; not a table this "
                         "grid wrote: move it away, or rebuild it with --aggregate-only --models ...")
    return rows


def grid_main(args: argparse.Namespace, items: Sequence[str],
              run_one: Callable[[argparse.Namespace, str, str, int], bool],
              aggregate: Callable[[argparse.Namespace], Any],
              table_json: Callable[[argparse.Namespace], Path]) -> Any:
    rows = table_args(args, table_json(args))  # read before any training: a bad table fails first
    if not args.aggregate_only:
        run_grid(args, items, lambda model, item, seed: run_one(args, model, item, seed), lambda: aggregate(rows))
    return aggregate(rows)


def check_device(device: str) -> None:
    """``--device`` becomes ``trainer.accelerator``; a genarch without that setting is refused in one line."""
    from hydra import compose, initialize_config_module

    with initialize_config_module("genarch.conf", version_base=None):
        trainer = compose("config").trainer
    if "accelerator" not in trainer:
        raise SystemExit(f"--device {device}: this genarch's trainer config (genarch/conf/trainer/default.yaml) has no "
                         "'accelerator' setting to pass it to")


def run_overrides(args: argparse.Namespace, out: Path) -> list[str]:
    """The protocol and run settings every cell of a grid gets, after the model's own overrides."""
    protocol = args.protocol
    if getattr(args, "debug_max_train", None):
        protocol = dataclasses.replace(protocol, max_train=args.debug_max_train)
    out_list = [*protocol.overrides(), "trainer.progress=false", f"trainer.threads={args.threads}",
                "++trainer.save_last=true", "++summary=false", f"hydra.run.dir={out}"]
    if getattr(args, "device", None):
        out_list.append(f"trainer.accelerator={args.device}")
    return out_list


def run_genarch(out: Path, overrides: Sequence[str], append_log: bool = False) -> int:
    """One ``python -m genarch`` job writing ``out/result.json`` and ``out/run.log``.

    A subprocess on purpose (not genarch's Python API): each run of a long grid gets a fresh process, so a
    crash, an out-of-memory kill or a stuck device in one run loses that run only, torch's process-wide state
    (thread count, deterministic algorithms, CUDA context) never leaks from one model to the next, the memory of
    a full training set goes back to the system between runs, and each run is the exact command a user would
    type (recorded in run.log and the run's .hydra folder)."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "run.log", "a" if append_log else "w") as log:
        return subprocess.run([sys.executable, "-m", "genarch", *overrides], cwd=ROOT, stdout=log,
                              stderr=subprocess.STDOUT).returncode


def train_cell(out: Path, overrides: Sequence[str], label: str,
               describe: Callable[[Mapping[str, Any]], str]) -> Optional[dict[str, Any]]:
    """Train one grid cell (:func:`run_genarch`), record it and print one timed line: its result, or None.
    A cell stopped mid-training (a killed session, a pre-empted job) continues from its last finished epoch
    (:func:`resume_overrides`) instead of starting again."""
    start = time.time()
    resume = resume_overrides(out, overrides)
    if resume:
        timed(label, start, f"continues from {out / LAST_CKPT}")
    code = run_genarch(out, [*overrides, *resume], append_log=bool(resume))
    res = read_current(out, overrides)
    if resume and not res:  # an unreadable checkpoint (killed while writing it): train the cell from scratch
        timed(label, start, f"could not continue (rc={code}); training from scratch")
        (out / LAST_CKPT).unlink(missing_ok=True)
        code = run_genarch(out, overrides, append_log=True)
        res = read_current(out, overrides)
    if res:
        record_cell(out, overrides, res)
    timed(label, start, describe(res) if res else f"FAILED rc={code} (see {out / 'run.log'})")
    return res


def resume_overrides(out: Path, overrides: Sequence[str]) -> list[str]:
    """``["++trainer.resume_from=..."]`` when ``out`` holds the last-epoch checkpoint of an unfinished run of the
    config ``overrides`` compose today (its weights, optimizer, epoch, early-stopping and best-weights state),
    else ``[]``, and in that case marks ``out`` as started for this config. A checkpoint of another config (an
    older preset, another contender) is never continued: the cell trains from scratch."""
    started, ckpt, want = Path(out) / STARTED_FILE, Path(out) / LAST_CKPT, expected_hash(overrides)
    try:
        same = json.loads(started.read_text())["config_hash"] == want
    except (OSError, ValueError, KeyError, TypeError):
        same = False
    if same and ckpt.is_file():
        return [f"++trainer.resume_from='{ckpt.resolve()}'"]
    Path(out).mkdir(parents=True, exist_ok=True)
    ckpt.unlink(missing_ok=True)
    started.write_text(json.dumps({"config_hash": want}) + "\n")
    return []


def timed(label: str, start: float, what: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {label}: {what} ({time.time() - start:.0f} s)", flush=True)


def run_seconds(result: Mapping[str, Any]) -> Optional[float]:
    """A run's training time from its result.json; a cell resumed after a kill adds what it trained before.
    None for a record that kept no time (:data:`RECOVERED`)."""
    if result.get("wall_time_s") is None:
        return None
    return float(result["wall_time_s"]) + float((result.get("extra") or {}).get("seconds_before_resume") or 0)


def mean_seconds(times: Mapping[str, Sequence[Optional[float]]]) -> dict[str, Optional[float]]:
    """Per model, the mean of the run times that were recorded."""
    known = {m: [t for t in ts if t is not None] for m, ts in times.items()}
    return {m: (sum(t) / len(t) if t else None) for m, t in known.items()}


def stopping(result: Mapping[str, Any]) -> dict[str, Any]:
    """Did this run stop early (patience) or hit the epoch cap? From its result.json; every value None for a
    record that kept no epoch count (:data:`RECOVERED`)."""
    if result.get("epochs") is None:
        early = result.get("stopped_early")
        return {"epochs": None, "max_epochs": None, "best_epoch": None, "hit_cap": None if early is None else not early}
    epochs = int(result["epochs"])
    cap = (result.get("hparams") or {}).get("trainer.max_epochs")
    best = (result.get("extra") or {}).get("best_epoch")
    return {"epochs": epochs, "max_epochs": cap, "best_epoch": best,
            "hit_cap": cap is not None and epochs >= int(cap)}


def stopping_summary(stops: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per model: runs that stopped early vs hit the epoch cap, and the epochs they ran; runs whose record
    does not say are counted apart (``not_recorded``)."""
    out = {}
    for model, runs in stops.items():
        known = [r for r in runs if r["hit_cap"] is not None]
        epochs = [r["epochs"] for r in known if r["epochs"] is not None]
        out[model] = {"runs": len(runs), "stopped_early": sum(not r["hit_cap"] for r in known),
                      "hit_cap": sum(bool(r["hit_cap"]) for r in known), "not_recorded": len(runs) - len(known),
                      "epochs_max": max(epochs) if epochs else None,
                      "epochs_mean": sum(epochs) / len(epochs) if epochs else None}
    return out


def recovered_note(counts: Mapping[str, int]) -> list[str]:
    """The markdown lines that say how many runs a table holds only as records recovered from an earlier table
    (:data:`RECOVERED`), ``{model: count}``."""
    if not any(counts.values()):
        return []
    listed = ", ".join(f"{model} {n}" for model, n in counts.items() if n)
    return [f"Kept only as records recovered from this table as committed before records were kept (their run "
            f"folders were lost): {listed} run(s). They hold seed, test score and device; no epoch count, no run "
            "time, no validation score.", ""]


def stopping_cell(stop: Mapping[str, Any]) -> str:
    """``stopped early / hit the cap`` for a table cell, with the runs that kept no epoch count."""
    text = f"{stop['stopped_early']} / {stop['hit_cap']}"
    return text + (f" (+{stop['not_recorded']} not recorded)" if stop.get("not_recorded") else "")


# --- which config a run was trained with -------------------------------------------------------------

def config_hash(hparams: Mapping[str, Any]) -> str:
    """Hash of the ``model.*``, ``optimizer.*`` and ``trainer.*`` keys of a run's flat hparams (result.json),
    without :data:`RUN_ENVIRONMENT`."""
    trained = {k: v for k, v in hparams.items() if k.startswith(HASHED) and k not in RUN_ENVIRONMENT}
    return hashlib.sha256(json.dumps(trained, sort_keys=True, default=str).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def _composed_hash(overrides: tuple[str, ...]) -> str:
    from hydra import compose, initialize_config_module

    from genarch.training.runner import hparams_of

    with initialize_config_module("genarch.conf", version_base=None):
        cfg = compose("config", overrides=list(overrides))
    return config_hash(json.loads(json.dumps(hparams_of(cfg), default=str)))  # as result.json stores them


def expected_hash(overrides: Sequence[str]) -> str:
    """:func:`config_hash` of the config ``overrides`` compose today. ``hydra.*``, ``seed`` and ``dataset.<key>``
    settings (not ``dataset=<name>``) cannot change a hashed key and are left out, so a grid composes once
    per model, not once per cell."""
    return _composed_hash(tuple(o for o in overrides if not o.lstrip("+~").startswith(("hydra.", "seed=", "dataset."))))


def recorded_overrides(out: Path) -> Optional[list[str]]:
    """The overrides a grid run was started with (its cell.json), None for a run from before cell.json."""
    try:
        return list(json.loads((Path(out) / CELL_FILE).read_text())["overrides"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_current(out: Path, overrides: Sequence[str]) -> Optional[dict[str, Any]]:
    """``out``'s result.json when it has status ok and was trained with the config ``overrides`` compose today,
    else the kept record of that cell (:func:`record_path`) when it holds such a run, else None (missing,
    failed, or made with another contender or preset: retrain it, never tabulate it). A current run without
    a record (trained by an older genarch), or whose record holds another run (recovered, or of another
    config), gets its own here."""
    res = current_in_folder(out, overrides)
    if res is not None:
        if record_path(out) is not None and not _records(read_record(out), res):
            record_cell(out, overrides, res)
        return res
    return current_record(out, overrides)


def current_in_folder(out: Path, overrides: Sequence[str]) -> Optional[dict[str, Any]]:
    """``out``'s own result.json (its weights and files beside it) when it holds the run ``overrides`` compose
    today, else None."""
    res = read_ok(out)
    return res if res is not None and config_hash(res.get("hparams") or {}) == expected_hash(overrides) else None


def current_record(out: Path, overrides: Sequence[str]) -> Optional[dict[str, Any]]:
    """``out``'s kept record when it holds the run ``overrides`` compose today, else None."""
    kept = read_record(out)
    return kept if kept is not None and (kept.get("cell") or {}).get("config_hash") == expected_hash(overrides) \
        else None


def _records(kept: Optional[Mapping[str, Any]], res: Mapping[str, Any]) -> bool:
    """Is ``kept`` the record of the run ``res`` (not a recovered one, not another config's)?"""
    return kept is not None and RECOVERED not in kept and \
        (kept.get("cell") or {}).get("config_hash") == config_hash(res.get("hparams") or {})


def portable(overrides: Sequence[str]) -> list[str]:
    """``overrides`` with ``hydra.run.dir`` relative to the repository: a record says the same in every checkout."""
    def one(o: str) -> str:
        key, _, value = o.partition("=")
        if key != "hydra.run.dir" or not Path(value).is_absolute():
            return o
        for path, root in ((Path(value), Path(ROOT)), (Path(value).resolve(), Path(ROOT).resolve())):
            if path.is_relative_to(root):
                return f"{key}={path.relative_to(root)}"
        return o
    return [one(o) for o in overrides]


def read_any(out: Path) -> Optional[dict[str, Any]]:
    """``out``'s successful run, from its folder or its record, whatever config made it."""
    return read_ok(out) or read_record(out)


def record_path(out: Path) -> Optional[Path]:
    """Where the record of grid run ``out`` (``RUNS/<grid>/<protocol>/<model>/<item>/seed<k>``) is kept:
    ``RESULTS/cells/<grid>/<protocol>/<model>/<item>/seed<k>.json``. None for a smoke run and for a folder
    outside experiments/runs."""
    try:
        parts = Path(out).resolve().relative_to(Path(RUNS).resolve()).parts
    except ValueError:
        return None
    if len(parts) != 5 or SMOKE in parts[1]:
        return None
    return Path(RESULTS) / CELLS / Path(*parts[:-1]) / f"{parts[-1]}.json"


def read_record(out: Path) -> Optional[dict[str, Any]]:
    path = record_path(out)
    return read_ok(path) if path is not None else None


def add_to_record(out: Path, **facts: Any) -> None:
    """Adds ``facts`` (what a grid computes after training, e.g. GUE's test MCC) to ``out``'s kept record."""
    path = record_path(out)
    kept = read_ok(path) if path is not None else None
    if kept is not None and any(kept.get(k) != v for k, v in facts.items()):
        atomic_write_json(path, {**kept, **facts})


def seed_dirs(item_dir: Path) -> list[Path]:
    """The run folders of one model and item, ``seed<k>``: those on disk and those only kept as records."""
    item_dir = Path(item_dir)
    names = {p.name for p in item_dir.glob("seed*") if p.is_dir()}
    kept = record_path(item_dir / "seed0")
    if kept is not None:
        names |= {p.stem for p in kept.parent.glob("seed*.json")}
    return sorted((item_dir / n for n in names if n[4:].isdigit()), key=lambda p: int(p.name[4:]))


def record_cell(out: Path, overrides: Sequence[str], res: Mapping[str, Any]) -> None:
    """Writes ``out/cell.json`` (the run's overrides and the hash of the config it trained) and the cell's
    kept record: its result.json with that ``cell`` added."""
    cell = {"overrides": list(overrides), "config_hash": config_hash(res.get("hparams") or {})}
    (Path(out) / CELL_FILE).write_text(json.dumps(cell, indent=2) + "\n")
    if (path := record_path(out)) is not None:
        atomic_write_json(path, {**res, "cell": {**cell, "overrides": portable(overrides)}})
