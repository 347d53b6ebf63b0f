"""hydra.sweeper.points (genarch/sweeper/points.py): the candidates a stage names are trained first, in order,
with the values the stage wrote; they count towards the budget, enter the first rung of a multi-fidelity sweep,
replay on resume; a point outside the space is refused before anything is written, naming it."""

import json

import pytest

from genarch.ledger import load_trials
from sweeper_fake import fake_sweeper

SPACE = ["x=tag(log, interval(0.03, 10))", "n=int(interval(1, 5))", "act=choice(relu, elu)", "fixed=3"]
POINTS = [{"x": 2.0, "n": 5, "act": "elu"}, {"x": 0.1, "n": 1, "act": "relu", "fixed": 3}]


def _jobs(sweep_dir):
    return {t.job: t for t in load_trials(sweep_dir)}


@pytest.mark.parametrize("fidelity", [None, {"key": "epochs", "min": 1, "max": 9, "eta": 3}],
                         ids=["single-fidelity", "rungs"])
def test_points_are_trained_first_with_the_values_the_stage_wrote(tmp_path, fidelity):
    sweeper = fake_sweeper(tmp_path, lambda job, ovr: 0.1 * job, budget=5, num_workers=2, points=POINTS,
                           fidelity=fidelity)
    sweeper.sweep(SPACE)
    jobs = _jobs(tmp_path)
    # 2.0 on a log scale comes back from nevergrad as 1.9999999999999998: the point keeps the stage's value
    assert ["x=2.0", "n=5", "act=elu"] == [o for o in jobs[0].overrides if o.split("=")[0] in ("x", "n", "act")]
    assert ["x=0.1", "n=1", "act=relu"] == [o for o in jobs[1].overrides if o.split("=")[0] in ("x", "n", "act")]
    assert "fixed=3" in jobs[0].overrides
    first_rung = [t for t in jobs.values() if fidelity is None or "++epochs=1" in t.overrides]
    assert len(first_rung) == 5  # the points count towards the budget of 5 candidates


def test_a_sweep_with_points_resumes_and_refuses_other_points(tmp_path):
    fake_sweeper(tmp_path, lambda job, ovr: 0.1 * job, budget=3, num_workers=1, points=POINTS).sweep(SPACE)
    resumed = fake_sweeper(tmp_path, lambda job, ovr: 0.1 * job, budget=5, num_workers=1, points=POINTS)
    resumed.sweep(SPACE)
    assert [job for job, _ in resumed.launcher.calls] == [3, 4]
    other = fake_sweeper(tmp_path, lambda job, ovr: 0.1 * job, budget=6, num_workers=1, points=POINTS[:1])
    with pytest.raises(ValueError, match="(?s)cannot resume.*points: was"):
        other.sweep(SPACE)
    assert json.loads((tmp_path / "sweep_state.json").read_text())["points"] == POINTS


@pytest.mark.parametrize("point, message", [
    ({"x": 2.0, "n": 5}, r"points\[0\]: name every swept key; missing \['act'\]"),
    ({"x": 2.0, "n": 5, "act": "elu", "y": 1}, r"points\[0\]: \['y'\] are not keys of this sweep's space"),
    ({"x": 20.0, "n": 5, "act": "elu"}, r"points\[0\]: x=20.0 is not a point of tag\(log, interval\(0.03, 10"),
    ({"x": 2.0, "n": 6, "act": "elu"}, r"points\[0\]: n=6 is not a point of int\(interval\(1, 5\)\)"),
    ({"x": 2.0, "n": 5, "act": "tanh"}, r"points\[0\]: act=tanh is not a point of choice\(relu, elu\)"),
    ({"x": 2.0, "n": 5, "act": "elu", "fixed": 4}, r"points\[0\]: fixed=4, but this sweep fixes fixed=3"),
    ("x=2.0", r"points\[0\]='x=2.0': give a mapping"),
])
def test_a_point_outside_the_space_is_refused_before_anything_is_written(tmp_path, point, message):
    sweep_dir = tmp_path / "sweep"
    with pytest.raises(ValueError, match=message):
        fake_sweeper(sweep_dir, lambda job, ovr: 0.5, budget=2, points=[point]).sweep(SPACE)
    assert not sweep_dir.exists()


@pytest.mark.parametrize("point", [
    {"x": 10.000000001, "n": 5, "act": "elu"},   # inside a ledger value's 1e-9 slack, outside nevergrad's bounds
])
def test_a_point_a_hair_past_an_interval_is_refused_before_anything_is_written(tmp_path, point):
    sweep_dir = tmp_path / "sweep"
    with pytest.raises(ValueError, match=r"points\[0\]: x=10.000000001 is not a point of"):
        fake_sweeper(sweep_dir, lambda job, ovr: 0.5, budget=2, points=[point]).sweep(SPACE)
    assert not sweep_dir.exists()


def test_a_fixed_key_compares_by_number_and_one_mapping_is_a_list_of_one(tmp_path):
    from genarch.sweeper.config import SweeperSettings

    point = {"x": 2.0, "n": 5, "act": "elu", "fixed": 3.0}
    fake_sweeper(tmp_path, lambda job, ovr: 0.5, budget=1, points=[point]).sweep(SPACE)
    assert "fixed=3" in _jobs(tmp_path)[0].overrides
    assert SweeperSettings.from_hydra({"points": {"x": 2.0}}).points == [{"x": 2.0}]
