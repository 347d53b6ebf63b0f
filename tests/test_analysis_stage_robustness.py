"""Stage files the analysis cannot read are named (file, line, key); the sweeper's bounds mapping is
read as the interval it sweeps; a block-style value is replaced whole; a stage that cannot be rewritten
keeps every other output of the analysis."""

import json

import pytest


@pytest.mark.parametrize("params_yaml, message", [
    ("      a: [1, 2\n      b: 3\n", r"stage.yaml:6:\d+: not valid YAML"),
    ("      model.x: choice(1, 2\n", r"stage.yaml: hydra.sweeper.params.model.x: cannot read 'choice\(1, 2'"),
])
def test_a_stage_the_analysis_cannot_read_is_named(tmp_path, params_yaml, message):
    from genarch.analysis.space import load_stage

    path = tmp_path / "stage.yaml"
    path.write_text("# @package _global_\nhydra:\n  sweeper:\n    params:\n" + params_yaml)
    with pytest.raises(ValueError, match=message):
        load_stage(path)


def test_the_analysis_reads_the_sweepers_bounds_mapping_as_the_interval_it_sweeps(tmp_path):
    from genarch.analysis.space import load_stage

    path = tmp_path / "stage.yaml"
    path.write_text("hydra:\n  sweeper:\n    params:\n"
                    "      model.x: {lower: 0.5, upper: 8, log: true, integer: true}\n"
                    "      optimizer.lr_scale: {lower: 0.001, upper: 0.1, log: true}\n")
    domains = load_stage(path).domains
    x, lr = domains["model.x"], domains["optimizer.lr_scale"]
    assert (x.kind, x.low, x.high, x.log, x.integer) == ("interval", 1.0, 8.0, True, True)
    assert (lr.kind, lr.low, lr.high, lr.log, lr.integer) == ("interval", 0.001, 0.1, True, False)


BLOCK_STAGE = """# @package _global_
hydra:
  sweeper:
    params:
      model/rnn:
      - lstm
      # a comment inside the list
      - gru
      - none
      optimizer.lr_scale:
        lower: 0.1
        upper: 2
        log: true
      model.stem.filters: choice(8, 16)

seed: 0
"""


def test_a_block_style_value_is_replaced_whole():
    from genarch.analysis.next_stage import rewrite_stage, validate_stage_text

    new = {"model/rnn": "choice(lstm)", "optimizer.lr_scale": "tag(log, interval(0.5, 2.0))",
           "model.stem.filters": "choice(8, 16)"}
    comments = {"model/rnn": ["top trials: lstm"], "optimizer.lr_scale": ["top trials above 0.5"]}
    text = rewrite_stage(BLOCK_STAGE, new, comments, ["Suggested."])
    validate_stage_text(text, new)
    assert "- gru" not in text and "lower: 0.1" not in text
    assert text.rstrip().endswith("seed: 0") and "model.stem.filters: choice(8, 16)" in text


def test_a_stage_that_cannot_be_rewritten_keeps_the_rest_of_the_analysis(tmp_path, monkeypatch):
    from genarch.analysis import pipeline
    from genarch.analysis.synthetic import write_sweep

    sweep = tmp_path / "sweep"
    write_sweep(sweep, n=40, seed=0)

    def broken(*args, **kwargs):
        raise ValueError("params not found as lines of the stage file: ['model/rnn']")

    monkeypatch.setattr(pipeline, "propose", broken)
    out = tmp_path / "analysis"
    analysis = pipeline.analyze_sweep(sweep, None, out, pipeline.Options(plots=False, seeds=2, n_estimators=20))
    assert analysis.proposals == [] and "no next-stage YAML written" in analysis.proposal_error
    assert (out / "tree_rules.txt").exists() and (out / "importance.json").exists()
    assert "params not found" in (out / "next_stage.diff").read_text()
    assert not list(out.glob("next_stage*.yaml"))
    assert any("no next-stage YAML written" in w for w in json.loads((out / "analysis.json").read_text())["warnings"])
