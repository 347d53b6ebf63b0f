"""Atomic writes: readers see the old or the whole new file; files get the usual permissions."""

import json
import os
import stat

import pytest

from genarch.io import atomic_write_json, atomic_write_text, flatten


def test_atomic_write_replaces_whole_file_with_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "sub" / "a.txt", "first")
        atomic_write_text(path, "second")
    finally:
        os.umask(old)
    assert path.read_text() == "second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]  # no temp file left behind


def test_atomic_write_json_handles_numpy_scalars(tmp_path):
    import numpy as np

    path = atomic_write_json(tmp_path / "r.json", {"auc": np.float32(0.5), "n": np.int64(3)})
    assert json.loads(path.read_text()) == {"auc": 0.5, "n": 3}


@pytest.mark.parametrize(
    "nested,flat",
    [
        ({"a": {"b": 1, "c": {"d": [1, 2]}}}, {"a.b": 1, "a.c.d": [1, 2]}),
        ({}, {}),
        ({"x": None}, {"x": None}),
    ],
)
def test_flatten(nested, flat):
    assert flatten(nested) == flat


def test_importing_genarch_sets_passive_openmp_waiting_unless_set():
    import subprocess
    import sys

    code = "import os, genarch; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.stdout.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.stdout.strip() == "ACTIVE"


def test_a_figure_that_fails_to_render_leaves_the_old_picture_whole(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genarch.io import atomic_savefig

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = atomic_savefig(fig, tmp_path / "a.png", dpi=50)
    before = path.read_bytes()
    assert before.startswith(b"\x89PNG")

    def half_then_crash(target, **kwargs):
        (target if hasattr(target, "write") else open(target, "wb")).write(before[:100])
        raise RuntimeError("renderer died")

    fig.savefig = half_then_crash
    with pytest.raises(RuntimeError, match="renderer died"):
        atomic_savefig(fig, path, dpi=50)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["a.png"]
    plt.close(fig)
    pdf = atomic_savefig(plt.figure(), tmp_path / "b.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
