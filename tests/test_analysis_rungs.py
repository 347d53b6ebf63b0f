"""The analysis of a multi-fidelity sweep compares one rung: the highest with enough finished trials; its
summary, report and analysis.json show the rung table (entered, promoted, best, compute per rung)."""

import dataclasses
import json
import random

import pytest

from genarch.analysis.pipeline import analyze_sweep
from genarch.analysis.rungs import RungRow, analysed_rung, rank_scores, rung_table
from genarch.analysis.trials import from_ledger
from genarch.ledger import EndRecord, RungRecord, StartRecord, write_record


def fake_sweep(sweep, per_rung):
    """A multi-fidelity ledger: ``per_rung[i]`` candidates at rung i (epochs 2, 6, 18), the best promoted."""
    rng = random.Random(0)
    job, entrants = 0, []
    for i in range(per_rung[0]):
        entrants.append({"x": round(rng.random(), 3), "c": rng.choice("abc")})
    previous, records = {}, {}
    for rung, n in enumerate(per_rung):
        scored = []
        for params in entrants[:n]:
            value = 0.5 + 0.1 * rung + 0.3 * params["x"] + (0.05 if params["c"] == "a" else 0.0)
            write_record(sweep, StartRecord(job, params, [f"x={params['x']}", f"c={params['c']}"], None, rung,
                                            {"trainer.max_epochs": [2, 6, 18][rung]}))
            write_record(sweep, EndRecord(job, "ok", params, "val_auroc", "maximize", value, epochs=[2, 6, 18][rung],
                                          wall_time_s=1.5))
            key = tuple(sorted(params.items()))
            added = [2, 6, 18][rung] - ([0, 2, 6][rung])
            records[job] = RungRecord(job, previous.get(key, (job,))[0], rung, {"trainer.max_epochs": [2, 6, 18][rung]},
                                      "ok", value, "maximize", epochs=added, sequences=100, seconds=1.5,
                                      resumed_from=previous.get(key, (None, None))[1],
                                      promoted=None if rung == len(per_rung) - 1 else False)
            write_record(sweep, records[job])
            previous[key] = (previous.get(key, (job,))[0], job)
            scored.append((value, params))
            job += 1
        entrants = [p for _, p in sorted(scored, key=lambda vp: -vp[0])]
        if rung + 1 < len(per_rung):
            for p in entrants[:per_rung[rung + 1]]:  # mark the promoted ones (a later record of the same job)
                first, last = previous[tuple(sorted(p.items()))]
                write_record(sweep, dataclasses.replace(records[last], promoted=True))


@pytest.mark.parametrize("per_rung, analysed", [
    ((18, 6, 2), 1),   # the top rung has 2 trials: the rung below, with 6
    ((27, 9, 5), 2),   # the top rung has 5: enough
    ((6, 2, 1), 0),
    ((4, 2, 1), 0),    # none has 5: the lowest, which has the most (too few to analyse: refused)
])
def test_the_analysis_reads_the_highest_rung_with_enough_trials(tmp_path, per_rung, analysed):
    fake_sweep(tmp_path, per_rung)
    rows = rung_table(tmp_path)
    assert [r.entered for r in rows] == list(per_rung)
    assert [r.promoted for r in rows] == list(per_rung[1:]) + [0]
    assert [r.epoch_sequences for r in rows] == [n * e * 100 for n, e in zip(per_rung, (2, 4, 12))]
    chosen, note = analysed_rung(rows, 5)
    assert chosen.rung == analysed and f"rung {analysed} (trainer.max_epochs={[2, 6, 18][analysed]})" in note
    if per_rung[analysed] < 5:
        with pytest.raises(ValueError, match="need at least 5"):
            from_ledger(tmp_path, rungs="top")
        return
    table = from_ledger(tmp_path, rungs="top")
    assert table.n == per_rung[analysed] and note in table.notes


def test_the_summary_report_and_json_show_the_rung_table(tmp_path):
    fake_sweep(tmp_path, (18, 6, 2))
    analysis = analyze_sweep(tmp_path, rungs="top")
    out = tmp_path / "analysis"
    summary = (out / "summary.txt").read_text()
    assert "compares the 6 trials of rung 1" in summary
    assert "entered promoted" in summary and "trainer.max_epochs=18" in summary
    info = json.loads((out / "analysis.json").read_text())
    assert [(r["rung"], r["entered"], r["promoted"]) for r in info["rungs"]] == [(0, 18, 6), (1, 6, 2), (2, 2, 0)]
    rung1 = analysis.top_trials(20).to_dict("records")  # the analysed rung: its best + 0.1 is the top rung's best
    assert info["rungs"][2]["best"] == pytest.approx(max(r["value"] for r in rung1) + 0.1)
    assert "<h2>Rungs</h2>" in (out / "report.html").read_text()


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_rank_scores_put_every_promoted_candidate_above_those_it_left_behind(direction):
    # rung 0: four candidates (jobs 0-3), the best two promoted (jobs 4, 5 at rung 1), the best of those to rung 2
    sign = 1 if direction == "maximize" else -1
    plan = [(0, 0, 0, 0.60), (1, 1, 0, 0.50), (2, 2, 0, 0.70), (3, 3, 0, None),
            (4, 0, 1, 0.65), (5, 2, 1, 0.80), (6, 2, 2, 0.90)]
    records = {job: {"job": job, "trial": trial, "rung": rung, "status": "ok" if v is not None else "failed",
                     "objective": {"value": None if v is None else sign * v}} for job, trial, rung, v in plan}
    rows = [RungRow(r, {"e": r}, jobs=[j for j, _, rung, _ in plan if rung == r]) for r in range(3)]
    scores = rank_scores(rows, records, direction)
    # each candidate once, at its last finished rung; the failed one keeps no score
    assert scores == pytest.approx({1: (0 + 0 / 3) / 3, 4: (1 + 0 / 2) / 3, 6: (2 + 0) / 3})
    assert scores[6] > scores[4] > scores[1]


def test_the_default_analysis_ranks_every_candidate_across_rungs(tmp_path):
    fake_sweep(tmp_path, (18, 6, 2))
    table = from_ledger(tmp_path)
    assert table.n == 18 and any("ranks 18 candidates across rungs 0-2" in n for n in table.notes)
    frame = table.frame.sort_values("value", ascending=False)
    # the top rung's two candidates first, then the four left at rung 1, then the twelve left at rung 0
    assert (frame["value"].iloc[:2] >= 2 / 3).all() and (frame["value"].iloc[2:6].between(1 / 3, 2 / 3)).all()
    assert (frame["value"].iloc[6:] < 1 / 3).all()
    analyze_sweep(tmp_path)
    assert "ranks 18 candidates" in (tmp_path / "analysis" / "summary.txt").read_text()


def test_ranks_stay_higher_is_better_whatever_the_objective_direction(tmp_path):
    """--direction minimize (a loss sweep) must not turn the ranks upside down."""
    fake_sweep(tmp_path, (9, 3, 1))
    table = from_ledger(tmp_path, direction="minimize")
    assert table.direction == "maximize"
    # the ranks are what successive halving decided (the ledger's promotions): the candidate that reached
    # rung 2 is the top trial, whatever --direction says of the raw scores
    assert table.frame.sort_values("value", ascending=False).iloc[0]["value"] >= 2 / 3


def test_a_rung_job_without_its_rung_record_is_left_out_not_mixed_in_raw(tmp_path):
    fake_sweep(tmp_path, (9, 3, 1))
    # a rung-1 job of candidate 0 that ended before the sweeper wrote its rung record (a killed sweep)
    write_record(tmp_path, StartRecord(99, {"x": 0.5, "c": "a"}, ["x=0.5", "c=a"], None, 1, {"trainer.max_epochs": 6}))
    write_record(tmp_path, EndRecord(99, "ok", {"x": 0.5, "c": "a"}, "val_auroc", "maximize", 0.99, epochs=6))
    table = from_ledger(tmp_path)
    assert table.n == 9 and table.frame["value"].max() < 1 and 99 not in set(table.frame["job"])


def test_hyperband_brackets_are_read_one_rung_with_a_note(tmp_path):
    fake_sweep(tmp_path, (18, 6, 2))
    state = {"fidelity": {"key": "trainer.max_epochs", "min": 2, "max": 18, "eta": 3, "brackets": 2}}
    (tmp_path / "sweep_state.json").write_text(json.dumps(state))
    table = from_ledger(tmp_path)
    assert table.n == 6 and any("not used with Hyperband's 2 brackets" in n for n in table.notes)
