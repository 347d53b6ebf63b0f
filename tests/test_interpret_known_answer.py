"""Known-answer tests on the embedded default (synthetic TFBS with CTCF MA0139.2 planted at recorded
positions): a small AttentionNet trained for a few epochs must put its attention on the planted sites,
and the motif read out of the attention must match MA0139 in JASPAR at q < 0.05."""

import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from genarch.interpret.numba_cache import ensure_numba_cache_dir

ensure_numba_cache_dir()

from genarch.interpret.attribution import METHODS  # noqa: E402
from genarch.interpret.pipeline import InterpretConfig, interpret_run  # noqa: E402
from genarch.interpret.truth import load_truth, recovery  # noqa: E402

PLANTED = "MA0139"


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A small AttentionNet on a 2,000-sequence synthetic default, trained for at most 6 epochs on one thread
    (threads=1 keeps it fast on a busy 2-core machine)."""
    from hydra import compose, initialize_config_module

    from genarch.app import quiet_libraries
    from genarch.data import load_dataset
    from genarch.training.runner import train

    quiet_libraries()
    run_dir = tmp_path_factory.mktemp("run_attn")
    with initialize_config_module("genarch.conf", version_base="1.3"):
        cfg = compose("config", overrides=["dataset.n=2000", "trainer.max_epochs=6", "trainer.patience=6",
                                           "trainer.threads=1", "trainer.progress=false", "seed=1"])
    (run_dir / ".hydra").mkdir()
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    bundle = load_dataset(cfg.dataset)
    result = train(cfg, run_dir, bundle=bundle)
    assert result.objective.value > 0.9, f"the test model did not learn (val AUROC {result.objective.value:.3f})"
    return run_dir, bundle


@pytest.fixture(scope="module")
def report(trained_run):
    run_dir, bundle = trained_run
    return interpret_run(run_dir, InterpretConfig(top_n=100, k=10), bundle=bundle)


def test_attention_peaks_fall_on_planted_sites(report):
    rec = report.outputs[0].recovery
    assert rec is not None and rec["n_with_site"] >= 50
    assert rec["rate"] >= 0.8, rec


def test_attention_pfm_best_match_is_the_planted_jaspar_motif(report):
    rec = report.outputs[0].recovery
    assert rec["motifs"]["pfm_aligned"]["best_match"].split(".")[0] == PLANTED, rec["motifs"]
    assert rec["motifs"]["pfm_aligned"]["q_value"] < 0.05
    assert rec["pfm_recovered"]
    assert rec["aligned_windows"]["centre_on_site"] >= 0.8


def test_chipped_tf_is_the_planted_motif_and_matched_at_tf_level(report):
    out = report.outputs[0]
    assert out.tf == "CTCF"
    best = [m for m in out.matches if m.query.endswith("pfm_aligned") and m.rank == 1][0]
    assert best.level == "tf"


def test_report_files_exist_and_index_lists_them(report):
    out_dir = Path(report.out_dir)
    index = json.loads((out_dir / "index.json").read_text())
    kinds = {f["kind"] for f in index["files"]}
    assert {"motifs", "matches", "summary", "mean_map", "sequence_maps", "heatmap", "logo"} <= kinds
    for entry in index["files"]:
        assert (out_dir / entry["path"]).stat().st_size > 0, entry
    motifs = json.loads((out_dir / "motifs.json").read_text())
    pfm = np.array(motifs["outputs"][0]["pfm"]["pfm"])
    assert pfm.shape == (10, 4) and np.allclose(pfm.sum(axis=1), 1)
    assert len(motifs["outputs"][0]["kmers"]) == 3
    rows = (out_dir / "matches.tsv").read_text().splitlines()
    assert rows[0].split("\t")[:3] == ["output", "query", "source"] and len(rows) == 1 + 3 * 5
    assert "MA0139" in (out_dir / "summary.txt").read_text()


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_peaks_on_planted_sites(trained_run, name):
    """Shared invariant on a trained model: every attribution method finds the planted site."""
    run_dir, bundle = trained_run
    from genarch.training.runner import load_trained

    net, _ = load_trained(run_dir)
    split = bundle.test
    pos = np.flatnonzero(split.y[:, 0] > 0.5)[:40]
    result = METHODS[name]()(net, split.x[pos], 0)
    truth = load_truth(bundle.info, bundle.seq_len)
    rec = recovery(result.peaks, split.ids[pos], truth, tolerance=3)
    assert rec["n_with_site"] == len(pos)
    assert rec["rate"] >= 0.7, (name, rec)


def test_cli_writes_into_the_run_directory(trained_run, capsys):
    from genarch.interpret.__main__ import main

    run_dir, _ = trained_run
    out = run_dir / "cli_out"
    assert main([str(run_dir), "--no-plots", "--no-logos", "--top-n", "50", "--out", str(out)]) == 0
    assert (out / "motifs.json").exists() and (out / "index.json").exists()
    assert "MA0139" in capsys.readouterr().out


def test_cli_reports_a_missing_run_dir(tmp_path, capsys):
    from genarch.interpret.__main__ import main

    assert main([str(tmp_path / "nope")]) == 2
    assert "error" in capsys.readouterr().out
