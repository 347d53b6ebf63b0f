"""The pipeline on paths the known-answer test does not take: regression (chosen genes, per-output and
per-model comparisons), models without attention (gradient x input behind the same interface), and
option errors. Networks are untrained: these tests check the plumbing and outputs, not the biology."""

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from genarch.interpret.numba_cache import ensure_numba_cache_dir

ensure_numba_cache_dir()

from genarch.interpret.pipeline import InterpretConfig, interpret_run  # noqa: E402
from genarch.model import GenomicNet  # noqa: E402

ILSEP = ["dataset=synthetic_ilsep", "dataset.n=60", "dataset.length=400", "dataset.offset_range=[-120,60]",
         "dataset.window=40", "dataset.p_site=0.7"]


def make_run(root: Path, overrides: list[str], seed: int = 0):
    """A run directory (model.pt + .hydra/config.yaml) holding an untrained network."""
    from hydra import compose, initialize_config_module

    from genarch.data import load_dataset

    with initialize_config_module("genarch.conf", version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    bundle = load_dataset(cfg.dataset)
    torch.manual_seed(seed)
    model = OmegaConf.to_container(cfg.model, resolve=True)
    net = GenomicNet(model, bundle.seq_len, bundle.n_outputs)
    root.mkdir(parents=True, exist_ok=True)
    (root / ".hydra").mkdir(exist_ok=True)
    OmegaConf.save(cfg, root / ".hydra" / "config.yaml")
    torch.save({"state_dict": net.state_dict(), "model": model, "seq_len": bundle.seq_len,
                "n_outputs": bundle.n_outputs, "task": bundle.task, "target_names": bundle.target_names,
                "best_epoch": 0}, root / "model.pt")
    return root, bundle


@pytest.fixture(scope="module")
def regression_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("ilsep")
    run_a, bundle = make_run(root / "a", ILSEP + ["model.reduction.stride=4"], seed=0)
    run_b, _ = make_run(root / "b", ILSEP + ["model.reduction.stride=4"], seed=1)
    genes = [str(i) for i in bundle.test.ids[:2]]
    cfg = InterpretConfig(top_n=5, outputs=["B", "abT", "DC"], genes=genes, compare=[str(run_b)], kmer_len=6)
    return interpret_run(run_a, cfg, bundle=bundle), genes


def test_regression_outputs_maps_and_comparisons(regression_report):
    report, genes = regression_report
    out_dir = Path(report.out_dir)
    assert report.task == "regression" and [r.output for r in report.outputs] == ["B", "abT", "DC"]
    index = json.loads((out_dir / "index.json").read_text())
    kinds = [f["kind"] for f in index["files"]]
    assert {"gene_maps", "output_comparison", "model_comparison"} <= set(kinds)
    assert kinds.count("model_comparison") == 3 and kinds.count("mean_map") == 3
    for entry in index["files"]:
        assert (out_dir / entry["path"]).stat().st_size > 0
    assert set(report.comparisons["B"]) == {"a (attention)", "b (attention)"}


def test_regression_ground_truth_is_per_lineage(regression_report):
    report, _ = regression_report
    planted = {r.output: {p[0] for p in r.planted} for r in report.outputs}
    assert planted == {"B": {"MA0154.5"}, "abT": {"MA0002.3"}, "DC": {"MA0080.7"}}
    assert [r.tf.upper() for r in report.outputs] == ["EBF1", "RUNX1", "SPI1"]
    for r in report.outputs:
        assert 0 <= r.recovery["rate"] <= 1 and r.recovery["n_with_site"] > 0


def test_model_without_attention_uses_an_attribution_method(tmp_path):
    run, bundle = make_run(tmp_path / "deepbind", ["model=deepbind", "dataset.n=200"])
    report = interpret_run(run, InterpretConfig(top_n=20, plots=False, logos=False), bundle=bundle)
    assert report.method == "gradxinput"
    motifs = json.loads((tmp_path / "deepbind" / "interpret" / "motifs.json").read_text())
    first = motifs["outputs"][0]
    assert motifs["method"] == "gradxinput" and first["n_top"] == min(20, first["n_candidates"]) > 0
    with pytest.raises(ValueError, match="no soft attention"):
        interpret_run(run, InterpretConfig(method="attention"), bundle=bundle)


@pytest.mark.parametrize("config,message", [
    (InterpretConfig(outputs=["nope"]), "unknown output"),
    (InterpretConfig(split="dev"), "split must be"),
    (InterpretConfig(release="JASPAR1999", plots=False, logos=False), "unknown JASPAR release"),
    (InterpretConfig(k=500), "longer than the sequences"),
    (InterpretConfig(compare=["/nonexistent/run"]), "--compare /nonexistent/run: no model.pt there"),
    # numeric options out of range fail at once, naming the option
    (InterpretConfig(top_n=-1), "--top-n must be an integer >= 1, got -1"),
    (InterpretConfig(top_n=0), "--top-n must be an integer >= 1, got 0"),
    (InterpretConfig(k=0), "-k must be an integer >= 1, got 0"),
    (InterpretConfig(k=6, kmer_len=8), "--kmer-len 8 is longer than the window -k 6"),
    (InterpretConfig(max_sequences=0), "--max-sequences must be an integer >= 1, got 0"),
    (InterpretConfig(n_examples=0), "--examples must be an integer >= 1, got 0"),
    (InterpretConfig(n_jobs=999), "--threads must be -1 \\(all\\) or 1.."),
])
def test_bad_options_fail_with_a_clear_message(tmp_path_factory, config, message):
    root = tmp_path_factory.mktemp("bad")
    run, bundle = make_run(root, ["dataset.n=40"])
    with pytest.raises(ValueError, match=message):
        interpret_run(run, config, bundle=bundle)


def test_options_used_after_attribution_are_checked_before_it(tmp_path_factory, monkeypatch):
    # --genes and --compare act after attribution and TOMTOM (hours for ISM on a large split): a bad
    # one must fail before them, not discard them
    import genarch.interpret.pipeline as pipeline

    root = tmp_path_factory.mktemp("late")
    run, bundle = make_run(root / "a", ILSEP + ["model.reduction.stride=4"])
    single, _ = make_run(root / "single", ILSEP + ["model.reduction.stride=4"], seed=2)
    checkpoint = torch.load(single / "model.pt", weights_only=False)  # the same model with one output
    one = GenomicNet(checkpoint["model"], checkpoint["seq_len"], 1)
    torch.save({**checkpoint, "state_dict": one.state_dict(), "n_outputs": 1, "target_names": ["B"]},
               single / "model.pt")

    def no_attribution(*args, **kwargs):
        raise AssertionError("attribution ran before the options were checked")

    monkeypatch.setattr(pipeline, "make_attribution", no_attribution)
    with pytest.raises(ValueError, match=r"--genes: not in the test split: \['nope'\]"):
        interpret_run(run, InterpretConfig(genes=["nope"]), bundle=bundle)
    monkeypatch.undo()
    out = root / "out"
    with pytest.raises(ValueError, match=r"--compare .*single: the model has 1 output\(s\), so it has no output 1"):
        interpret_run(run, InterpretConfig(top_n=5, outputs=["B", "abT"], compare=[str(single)], kmer_len=6,
                                           plots=False, logos=False, out_dir=str(out)), bundle=bundle)
    assert (out / "index.json").exists()  # attribution and TOMTOM are written before the error



def test_release_and_tax_group_are_checked_before_attribution(tmp_path, monkeypatch):
    import genarch.interpret.pipeline as pipeline

    run, bundle = make_run(tmp_path / "r", ["dataset.n=40"])
    monkeypatch.setattr(pipeline, "make_attribution", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("attribution ran before the JASPAR options were checked")))
    with pytest.raises(ValueError, match="unknown JASPAR release"):
        interpret_run(run, InterpretConfig(release="JASPAR1999"), bundle=bundle)
    with pytest.raises(ValueError, match="has no motifs for tax_group='vertebrate'"):
        interpret_run(run, InterpretConfig(tax_group="vertebrate"), bundle=bundle)


def test_a_run_dir_without_a_model_is_refused_and_nothing_is_created(tmp_path):
    typo = tmp_path / "typo_run"
    with pytest.raises(FileNotFoundError, match="model.pt not found: not a genarch run directory"):
        interpret_run(typo, InterpretConfig())
    assert not typo.exists()


def test_a_figure_failure_keeps_the_matches_and_a_rerun_never_shows_a_stale_index(tmp_path, monkeypatch):
    import genarch.interpret.figures as figures

    run, bundle = make_run(tmp_path / "r", ["dataset.n=40"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.json").write_text('{"from": "an earlier run"}')

    def broken(*args, **kwargs):
        raise ValueError("matplotlib broke")

    monkeypatch.setattr(figures, "write_figures", broken)
    with pytest.raises(RuntimeError,
                       match="figures failed \\(ValueError: matplotlib broke\\); the matches and the report"):
        interpret_run(run, InterpretConfig(top_n=5, logos=False, out_dir=str(out)), bundle=bundle)
    index = json.loads((out / "index.json").read_text())
    assert index.get("from") is None and index["run_dir"] == str(run)
    assert (out / "motifs.json").exists() and (out / "matches.tsv").exists()


def test_outputs_whose_file_names_would_collide_get_their_own_files():
    from genarch.interpret.figures import unique_stems

    assert unique_stems(["B", "B+", "abT"]) == {"B": "B_0", "B+": "B_1", "abT": "abT"}
    assert unique_stems(["bound"]) == {"bound": "bound"}


def test_an_output_named_twice_is_read_once():
    from genarch.interpret.pipeline import _output_indices

    assert _output_indices(["a", "b", "c"], ["b", "b", "a"], cap=12) == [1, 0]
