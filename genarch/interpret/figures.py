"""Which PNGs a report gets, and their file names (plotting itself: attention_maps.py, logos.py).

Under ``<out_dir>``:
  maps/<output>_mean.png          mean map over the output's positives / all promoters (Fig. 2B / 3C)
  maps/<output>_examples.png      top sequences' maps, raw + blurred, planted sites shaded (Fig. 2C)
  maps/<output>_heatmap.png       top sequences' blurred maps as rows
  maps/genes.png                  regression: chosen genes' maps (Fig. 3B)
  maps/outputs_compare.png        mean maps per output on one axis (Fig. 3D), when > 1 output
  maps/models_compare_<output>.png  per-model mean maps (``--compare``)
  logos/<motif>.png               motif logo above its best JASPAR match
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from genarch.interpret import attention_maps as am
from genarch.interpret.logos import plot_logo_pair


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "output"


def unique_stems(names: list[str]) -> dict[str, str]:
    """A file-name stem per output name; names the cleaning makes equal (``B`` and ``B+``) get their
    position appended, so no output's maps or logos overwrite another's."""
    stems = [safe_name(n) for n in names]
    return {n: (f"{s}_{i}" if stems.count(s) > 1 else s) for i, (n, s) in enumerate(zip(names, stems))}


def _entry(path: Path, out_dir: Path, kind: str, description: str, output: str = "") -> dict:
    return {"path": str(path.relative_to(out_dir)), "kind": kind, "output": output, "description": description}


def write_figures(report, x: np.ndarray, ids: np.ndarray, truth, cache: dict, method, config, tss) -> list[dict]:
    out_dir = Path(report.out_dir)
    maps = out_dir / "maps"
    files: list[dict] = []
    what = "attention" if method.name == "attention" else f"{method.name} attribution"
    ylabel = "attention weight" if method.name == "attention" else method.name
    stems = unique_stems([r.output for r in report.outputs])
    for r in report.outputs:
        res = cache[r.index if method.per_output else None]
        stem = stems[r.output]
        scope = "positives" if report.task == "binary" else "sequences"
        path = am.plot_profiles({f"all {r.n_candidates} {scope}": r.mean_profile,
                                 f"top {len(r.chosen)} by prediction": r.top_profile},
                                maps / f"{stem}_mean.png", f"{r.output}: mean {what} ({report.split} split)",
                                ylabel=f"mean {ylabel}", tss=tss)
        files.append(_entry(path, out_dir, "mean_map", f"mean {what} over {scope} and over the top sequences",
                            r.output))
        show = r.chosen[: config.n_examples]
        sites = [truth.get(str(ids[i]), []) for i in show] if truth is not None else None
        path = am.plot_sequences(res.scores[show], [f"{ids[i]}" for i in show], maps / f"{stem}_examples.png",
                                 config.blur_sigma, sites, res.peaks[show], f"{r.output}: {what} of top sequences",
                                 ylabel, tss)
        files.append(_entry(path, out_dir, "sequence_maps", f"per-sequence {what}, raw and blurred", r.output))
        path = am.plot_heatmap(res.scores[r.chosen], maps / f"{stem}_heatmap.png", config.blur_sigma,
                               f"{r.output}: blurred {what}, top {len(r.chosen)} sequences", tss)
        files.append(_entry(path, out_dir, "heatmap", f"blurred {what} of the top sequences", r.output))
    if report.task == "regression":
        first = report.outputs[0]
        res = cache[first.index if method.per_output else None]
        if config.genes:
            lookup = {str(i): n for n, i in enumerate(ids)}
            missing = [g for g in config.genes if g not in lookup]
            if missing:
                raise ValueError(f"genes not in the {report.split} split: {missing[:5]}")
            rows = np.array([lookup[g] for g in config.genes])
        else:
            rows = first.chosen[:3]
        path = am.plot_sequences(res.scores[rows], [str(ids[i]) for i in rows], maps / "genes.png", config.blur_sigma,
                                 None, res.peaks[rows], f"{what} of chosen genes ({first.output})", ylabel, tss)
        files.append(_entry(path, out_dir, "gene_maps", f"{what} of chosen genes"))
    if len(report.outputs) > 1:
        path = am.plot_profiles({r.output: r.top_profile for r in report.outputs}, maps / "outputs_compare.png",
                                f"mean {what} of each output's top sequences", sigma=config.blur_sigma,
                                ylabel=f"mean {ylabel}", tss=tss)
        files.append(_entry(path, out_dir, "output_comparison", f"mean {what} per output"))
    for output, profiles in (report.comparisons or {}).items():
        path = am.plot_profiles({k: np.asarray(v) for k, v in profiles.items()},
                                maps / f"models_compare_{stems.get(output, safe_name(output))}.png",
                                f"{output}: mean map per model", sigma=config.blur_sigma, tss=tss)
        files.append(_entry(path, out_dir, "model_comparison", "mean map per model", output))
    return files


def write_logos(report, targets: list, out_dir: Path) -> list[dict]:
    by_id = {t.matrix_id: t for t in targets}
    files = []
    stems = unique_stems([r.output for r in report.outputs])
    for r in report.outputs:
        best = {m.query: m for m in r.matches if m.rank == 1}
        for motif in r.motif_set.motifs():
            match = best.get(motif.name)
            label = f"{motif.name}  {motif.consensus}  (n={motif.n_sites})"
            stem = f"{stems[r.output]}_{safe_name(motif.name.rsplit(':', 1)[-1])}"
            path = plot_logo_pair(motif.pfm, label, out_dir / "logos" / f"{stem}.png",
                                  by_id.get(match.target_id) if match else None, match)
            files.append(_entry(path, out_dir, "logo", f"{motif.name} beside its best JASPAR match", r.output))
    return files
