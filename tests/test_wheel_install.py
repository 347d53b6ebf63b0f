"""The package installs as a wheel into a fresh virtual environment and `python -m genarch` runs
from outside the checkout: the configs ship inside the package."""

import json
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_runs_outside_checkout(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(ROOT)],
                   check=True, capture_output=True, text=True, timeout=300)
    wheel = next(dist.glob("genarch-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("genarch/conf/config.yaml", "genarch/conf/model/attentionnet.yaml",
                     "genarch/conf/model/rnn/lstm.yaml", "genarch/conf/dataset/synthetic_tfbs.yaml"):
        assert expected in names

    # a fresh environment that sees the already-installed dependencies (torch is GBs to install again): those of
    # the system and, through a .pth path line, those of the environment running the tests (a project .venv). A
    # path line does not run that environment's own .pth files, so its editable genarch stays out of sight.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site_dir = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    parent = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    (Path(site_dir) / "_test_parent_env.pth").write_text("".join(f"{d}\n" for d in sorted(parent)))
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([str(python), "-c", "import genarch, sys; print(genarch.__file__)"], cwd=elsewhere,
                           capture_output=True, text=True, check=True)
    assert str(env_dir) in where.stdout, "the wheel, not the checkout, must be imported"
    run_dir = tmp_path / "run"
    proc = subprocess.run([str(python), "-m", "genarch", "trainer=smoke", "dataset.n=400", f"hydra.run.dir={run_dir}"],
                          cwd=elsewhere, capture_output=True, text=True, timeout=300,
                          env={"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((run_dir / "result.json").read_text())["status"] == "ok"
