"""Interpret one trained run: maps -> motifs -> TOMTOM vs JASPAR -> logos -> report files.

:func:`interpret_run` is what ``python -m genarch.interpret <run_dir>`` calls. It reads the run's
``model.pt`` and ``.hydra/config.yaml``, reloads the run's dataset, explains the sequences of one split
(``test`` by default, which the model did not train on) and writes everything under
``<run_dir>/interpret/`` (see :mod:`genarch.interpret.summary` for the files).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from genarch.interpret.attribution import AttributionResult, make_attribution
from genarch.jaspar import DEFAULT_RELEASE, DEFAULT_TAX_GROUP, JasparMotif, load_core
from genarch.interpret.motifs import MotifSet, read_out, select_top
from genarch.interpret.tfnames import tf_from_experiment
from genarch.interpret.tomtom import Match, best_matches, run_tomtom
from genarch.interpret.truth import Site, load_truth, planted_motifs, recovery, same_matrix
from genarch.training.module import predict
from genarch.training.runner import MODEL_FILE
from genarch.training.subnormals import flushing_subnormals


@dataclass
class InterpretConfig:
    split: str = "test"                 # test (falls back to val when a dataset has none), val, train
    method: str = "auto"                # auto | attention | gradxinput | ism
    top_n: int = 100                    # sequences whose peak windows make the PFM
    k: int = 10                         # window width around the peak (bp)
    kmer_len: int = 8                   # length of the recurring k-mers counted in the windows
    n_kmers: int = 3
    align: bool = True                  # also report the strand/shift-aligned PFM (genarch.interpret.alignment)
    margin: int = 5                     # alignment may shift a window this many bp either way
    release: str = DEFAULT_RELEASE      # JASPAR release shipped with pyjaspar
    tax_group: Optional[str] = DEFAULT_TAX_GROUP
    tf: Optional[str] = None            # the ChIP'd TF; default: from the dataset (experiment / planted motif)
    outputs: Optional[list[str]] = None  # output names to interpret (default: all, at most max_outputs)
    max_outputs: int = 12
    genes: Optional[list[str]] = None   # regression: sequence ids to plot (default: top predicted)
    blur_sigma: float = 2.0
    n_examples: int = 6                 # per-sequence map panels
    tolerance: int = 3                  # known-answer: peak within planted site +- tolerance bp
    max_sequences: Optional[int] = None  # subsample the split (ISM costs 3 L forward passes per sequence)
    compare: list[str] = field(default_factory=list)  # other run dirs: per-model mean map comparison
    plots: bool = True
    logos: bool = True
    tss: Optional[int] = None           # x axis relative to this base (default: centre for synthetic_ilsep)
    out_dir: Optional[str] = None       # default <run_dir>/interpret
    n_jobs: int = -1                    # numba threads for TOMTOM

    def check(self) -> None:
        """Every numeric option in range, before any work: a bad value must not surface after attribution
        as a numpy or numba message that names no option."""
        bad = []
        for name, flag, low in (("top_n", "--top-n", 1), ("k", "-k", 1), ("kmer_len", "--kmer-len", 1),
                                ("n_kmers", "--n-kmers", 0), ("n_examples", "--examples", 1),
                                ("max_outputs", "max_outputs", 1), ("margin", "margin", 0),
                                ("tolerance", "--tolerance", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                bad.append(f"{flag} must be an integer >= {low}, got {value!r}")
        if self.max_sequences is not None and (not isinstance(self.max_sequences, int) or self.max_sequences < 1):
            bad.append(f"--max-sequences must be an integer >= 1, got {self.max_sequences!r}")
        if isinstance(self.kmer_len, int) and isinstance(self.k, int) and self.kmer_len > self.k:
            bad.append(f"--kmer-len {self.kmer_len} is longer than the window -k {self.k}: "
                       "k-mers are counted inside it")
        if not (self.n_jobs == -1 or (isinstance(self.n_jobs, int) and 1 <= self.n_jobs <= (os.cpu_count() or 1))):
            bad.append(f"--threads must be -1 (all) or 1..{os.cpu_count() or 1}, got {self.n_jobs!r}")
        if self.blur_sigma < 0:
            bad.append(f"--blur must be >= 0, got {self.blur_sigma!r}")
        if bad:
            raise ValueError("; ".join(bad))


@dataclass
class OutputReport:
    output: str
    index: int
    n_candidates: int
    motif_set: MotifSet
    mean_profile: np.ndarray
    top_profile: np.ndarray
    chosen: np.ndarray
    tf: Optional[str]
    planted: list = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    recovery: Optional[dict] = None


@dataclass
class Report:
    run_dir: str
    out_dir: str
    config: dict
    method: str
    split: str
    dataset: str
    task: str
    n_sequences: int
    outputs: list[OutputReport]
    jaspar: dict
    files: list[dict] = field(default_factory=list)
    comparisons: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


def load_run(run_dir: Path):
    """``(net, checkpoint, composed config)`` of a run directory."""
    from omegaconf import OmegaConf

    from genarch.training.runner import load_trained

    net, checkpoint = load_trained(run_dir)
    cfg_path = run_dir / ".hydra" / "config.yaml"
    if not cfg_path.exists():
        raise FileNotFoundError(f"{cfg_path} not found: interpretation needs the run's composed config to reload "
                                "its data")
    return net, checkpoint, OmegaConf.load(cfg_path)


def choose_split(bundle, name: str):
    if name == "test":
        if bundle.test is not None and len(bundle.test):
            return "test", bundle.test
        return "val", bundle.val
    if name in ("val", "train"):
        return name, getattr(bundle, name)
    raise ValueError(f"split must be test, val or train, got {name!r}")


def default_tf(bundle, truth_planted: list, output_name: str) -> Optional[str]:
    if truth_planted:
        return truth_planted[0][1] or truth_planted[0][0]
    experiment = (bundle.info or {}).get("experiment")
    if experiment:
        return tf_from_experiment(str(experiment))
    return None


def _output_indices(target_names: list[str], wanted: Optional[Sequence[str]], cap: int) -> list[int]:
    if wanted:
        missing = [w for w in wanted if w not in target_names]
        if missing:
            raise ValueError(f"unknown output(s) {missing}; the model's outputs are {target_names}")
        return [target_names.index(w) for w in dict.fromkeys(wanted)]  # a name given twice is read once
    return list(range(min(len(target_names), cap)))


def interpret_run(run_dir: "str | Path", config: Optional[InterpretConfig] = None, bundle=None,
                  console: Any = None, targets: Optional[Sequence[JasparMotif]] = None) -> Report:
    """Attribution maps, motifs and their JASPAR matches for a trained run; the report is also written to disk.
    Subnormal weights are flushed while it runs (genarch.training.subnormals): they would slow every pass."""
    with flushing_subnormals():
        return _interpret_run(run_dir, config, bundle, console, targets)


def _interpret_run(run_dir: "str | Path", config: Optional[InterpretConfig], bundle, console: Any,
                   targets: Optional[Sequence[JasparMotif]]) -> Report:
    from genarch.data import load_dataset

    config = config or InterpretConfig()
    config.check()
    run_dir = Path(run_dir)
    if not (run_dir / MODEL_FILE).is_file():
        raise FileNotFoundError(f"{run_dir / MODEL_FILE} not found: not a genarch run directory, or the run was "
                                "trained with trainer.save_checkpoint=false")
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        if console is not None:
            console.log(msg)

    net, checkpoint, cfg = load_run(run_dir)
    out_dir = Path(config.out_dir) if config.out_dir else run_dir / "interpret"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "index.json").unlink(missing_ok=True)  # written last: it never describes another run's files
    if bundle is None:
        say("loading the run's dataset")
        bundle = load_dataset(cfg.dataset)
    split_name, split = choose_split(bundle, config.split)
    x, y = split.x, split.y
    ids = split.ids if split.ids is not None else np.array([f"{split_name}{i:06d}" for i in range(len(x))])
    if config.max_sequences and len(x) > config.max_sequences:
        keep = np.sort(np.random.default_rng(0).choice(len(x), config.max_sequences, replace=False))
        x, y, ids = x[keep], y[keep], ids[keep]
    ids = np.asarray(ids).astype(str)
    task = checkpoint.get("task", bundle.task)
    # options used only after the (long) attribution and TOMTOM are checked now, not after them
    if config.plots and config.genes and task == "regression":
        known = set(ids)
        missing = [g for g in config.genes if g not in known]
        if missing:
            raise ValueError(f"--genes: not in the {split_name} split{' sample' if config.max_sequences else ''}: "
                             f"{missing[:5]}")
    for other in config.compare or []:
        if not (Path(other) / MODEL_FILE).exists():
            raise ValueError(f"--compare {other}: no {MODEL_FILE} there (is it a genarch run directory?)")
    # the JASPAR targets too: a bad --release / --tax-group fails here, not after attribution
    targets = list(targets) if targets is not None else list(load_core(config.release, config.tax_group))
    target_names = list(checkpoint.get("target_names") or bundle.target_names)
    if not config.outputs and len(target_names) > config.max_outputs:
        say(f"{len(target_names)} outputs: the first {config.max_outputs} are interpreted; name others with --outputs")
    ilsep = str(bundle.name).startswith("synthetic_ilsep")
    tss = config.tss if config.tss is not None else (x.shape[2] // 2 if ilsep else None)
    truth = load_truth(bundle.info, x.shape[2])
    seconds["load"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    preds = predict(net, x)
    method = make_attribution(config.method, net)
    say(f"attribution: {method.name} on {len(x)} {split_name} sequences")
    cache: dict[Optional[int], AttributionResult] = {}

    def attribution_for(index: int) -> AttributionResult:
        key = index if method.per_output else None
        if key not in cache:
            cache[key] = method(net, x, index)
        return cache[key]

    reports: list[OutputReport] = []
    for index in _output_indices(target_names, config.outputs, config.max_outputs):
        name = target_names[index]
        res = attribution_for(index)
        candidates = np.flatnonzero(y[:, index] > 0.5) if task == "binary" else np.arange(len(x))
        if len(candidates) == 0:
            say(f"output {name}: no positive sequences in the {split_name} split; skipped")
            continue
        chosen = select_top(preds[:, index], candidates, config.top_n)
        motif_set = read_out(x, res.peaks, ids, chosen, config.k, config.kmer_len, config.n_kmers, name,
                             align=config.align, margin=config.margin)
        planted = []
        if truth is not None:
            planted = planted_motifs(_truth_for_output(truth, name), ids[candidates])
        tf = config.tf or default_tf(bundle, planted, name)
        rec = None
        if truth is not None and planted:
            rec = recovery(res.peaks[candidates], ids[candidates], _truth_for_output(truth, name), config.tolerance)
            rec["top_n"] = recovery(res.peaks[chosen], ids[chosen], _truth_for_output(truth, name), config.tolerance)
        reports.append(OutputReport(name, index, len(candidates), motif_set, res.scores[candidates].mean(axis=0),
                                    res.scores[chosen].mean(axis=0), chosen, tf, planted, recovery=rec))
    if not reports:
        raise ValueError(f"nothing to interpret: no output has sequences to read motifs from in the {split_name} split")
    seconds["attribution"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    queries = [m for r in reports for m in r.motif_set.motifs()]
    say(f"TOMTOM: {len(queries)} motifs against {len(targets)} JASPAR {config.release} CORE matrices")
    result = run_tomtom([m.pfm for m in queries], targets, n_jobs=config.n_jobs)
    offset = 0
    for r in reports:
        n = len(r.motif_set.motifs())
        sub = _slice_result(result, offset, offset + n)
        r.matches = best_matches(sub, [m.name for m in r.motif_set.motifs()], targets, r.tf, top=3)
        offset += n
        if r.recovery is not None:
            check_motifs(r, _truth_for_output(truth, r.output), ids)
    seconds["tomtom"] = time.perf_counter() - t2

    report = Report(str(run_dir), str(out_dir), _jsonable(asdict(config)), method.name, split_name, str(bundle.name),
                    task, int(len(x)), reports,
                    {"release": config.release, "tax_group": config.tax_group, "n_targets": len(targets)})

    t3 = time.perf_counter()
    compare_error: Optional[ValueError] = None
    if config.compare:
        try:
            report.comparisons = compare_models(run_dir, config.compare, x, y, reports, config)
        except ValueError as exc:  # a compared model that does not fit: write what was computed, then say so
            compare_error = exc
    figure_error: Optional[Exception] = None
    try:  # a plotting failure must not lose the matches TOMTOM computed: the report is written either way
        if config.plots:
            from genarch.interpret.figures import write_figures

            report.files += write_figures(report, x, ids, truth, cache, method, config, tss)
        if config.logos:
            from genarch.interpret.figures import write_logos

            report.files += write_logos(report, targets, out_dir)
    except Exception as exc:  # noqa: BLE001 - re-raised below, after the report
        figure_error = exc
    seconds["figures"] = time.perf_counter() - t3
    seconds["total"] = time.perf_counter() - t0
    report.seconds = {k: round(v, 2) for k, v in seconds.items()}
    from genarch.interpret.summary import write_report

    write_report(report, console)
    if figure_error is not None:
        raise RuntimeError(f"figures failed ({type(figure_error).__name__}: {figure_error}); the matches and the "
                           f"report are written to {out_dir}") from figure_error
    if compare_error is not None:
        raise ValueError(f"{compare_error} (the rest of the interpretation is written to {out_dir})")
    return report


def check_motifs(r: OutputReport, truth: dict[str, list[Site]], ids: np.ndarray) -> None:
    """Known answer: is each PFM's best match the planted matrix at q < 0.05; for the aligned PFM, do its
    window positions and strands agree with the planted sites (strand read through the match's strand)."""
    checks = {}
    for motif in (r.motif_set.pfm, r.motif_set.aligned):
        if motif is None:
            continue
        best = next(m for m in r.matches if m.query == motif.name and m.rank == 1)
        planted = bool(any(same_matrix(best.target_id, p[0]) for p in r.planted))
        checks[motif.source] = {"best_match": best.target_id, "best_name": best.target_name, "q_value": best.q_value,
                                "matches_planted": planted, "recovered": bool(planted and best.q_value < 0.05)}
    main = checks.get("pfm_aligned") or checks["pfm"]
    r.recovery.update({"motifs": checks, "pfm_best_match": main["best_match"], "pfm_best_q": main["q_value"],
                       "pfm_matches_planted": main["matches_planted"], "pfm_recovered": main["recovered"],
                       "paper_pfm_recovered": checks["pfm"]["recovered"]})
    aligned = r.motif_set.aligned
    extra = r.motif_set.extra
    if aligned is not None and "aligned_starts" in extra:
        best = next(m for m in r.matches if m.query == aligned.name and m.rank == 1)
        flip = best.strand == "-"
        on_site, same_strand, n = 0, 0, 0
        for i, start, strand in zip(r.motif_set.sequences, extra["aligned_starts"], extra["aligned_strands"]):
            sites = truth.get(str(i), [])
            if not sites:
                continue
            n += 1
            centre = start + aligned.length / 2
            hit = [s for s in sites if s.start - 1 <= centre <= s.end + 1]
            on_site += bool(hit)
            same_strand += bool(hit) and ((strand == hit[0].strand) != flip)
        r.recovery["aligned_windows"] = {"n": n, "centre_on_site": on_site / n if n else float("nan"),
                                         "strand_agrees": same_strand / n if n else float("nan")}


def _truth_for_output(truth: dict[str, list[Site]], output: str) -> dict[str, list[Site]]:
    """Sites relevant to one output: all of them, or (ILSEP) those of that lineage."""
    if not any(s.group for sites in truth.values() for s in sites):
        return truth
    return {i: [s for s in sites if s.group == output] for i, sites in truth.items()
            if any(s.group == output for s in sites)}


def _slice_result(result, lo: int, hi: int):
    from genarch.interpret.tomtom import TomtomResult

    return TomtomResult(*(getattr(result, f)[lo:hi] for f in ("p", "q", "score", "offset", "overlap", "strand")))


def compare_models(run_dir: Path, others: Sequence[str], x: np.ndarray, y: np.ndarray, reports: list[OutputReport],
                   config: InterpretConfig) -> dict:
    """Mean map of each model over the same sequences (each output's candidates), per output."""
    out: dict[str, dict[str, list[float]]] = {}
    runs = [str(run_dir), *others]
    names = [Path(r).name for r in runs]
    labels = {r: (n if names.count(n) == 1 else r) for r, n in zip(runs, names)}  # trial dirs "3" and "3": paths
    for other in runs:
        net, checkpoint, _ = load_run(Path(other))
        if checkpoint["seq_len"] != x.shape[2]:
            raise ValueError(f"{other}: model input is {checkpoint['seq_len']} bp, these sequences are {x.shape[2]} bp")
        method = make_attribution(config.method if config.method != "auto" else "auto", net)
        shared = None if method.per_output else method(net, x, 0)
        for r in reports:
            if r.index >= checkpoint["n_outputs"]:
                raise ValueError(f"--compare {other}: the model has {checkpoint['n_outputs']} output(s), "
                                 f"so it has no output {r.index} ({r.output}) to compare")
            res = shared if shared is not None else method(net, x, r.index)
            binary = y.shape[1] and set(np.unique(y[:, r.index])) <= {0.0, 1.0}
            candidates = np.flatnonzero(y[:, r.index] > 0.5) if binary else np.arange(len(x))
            mean = res.scores[candidates].mean(axis=0).tolist()
            out.setdefault(r.output, {})[f"{labels[other]} ({method.name})"] = mean
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
