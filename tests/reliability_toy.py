"""The sweeper toy (tests/sweeper_toy_conf) as a genarch task: it follows genarch's task protocol
(:func:`genarch.task.task_wrapper`), so each trial writes its own result.json and ledger end record, as
``python -m genarch`` does, and it appends one line per training to ``<run dir>/trained.txt``, so a test
can count how often a job was trained: ``started.txt`` gets a line when a training starts, ``trained.txt``
when one completes. Not a test module; tests run it as a subprocess:
``python tests/reliability_toy.py ... -m``."""

import os
import time

import hydra
from omegaconf import DictConfig

from genarch.task import task_wrapper


@task_wrapper
def toy(cfg: DictConfig, run) -> float:
    run.facts["objective"] = ("toy_loss", "minimize")
    run.facts["hparams"] = {"x": cfg.x, "y": cfg.y, "c": cfg.c}
    _line(run.out_dir / "started.txt")
    if cfg.sleep:
        time.sleep(float(cfg.sleep))
    gate = cfg.get("gate")  # +gate=<file>: the trial waits (at most 300 s) until that file exists
    deadline = time.time() + 300
    while gate and not os.path.exists(gate) and time.time() < deadline:
        time.sleep(0.05)
    hold = cfg.get("hold")  # +hold=<file>: the trial waits (at most 300 s) while that file exists
    while hold and os.path.exists(hold) and time.time() < deadline:
        time.sleep(0.05)
    if cfg.fail_if_c == cfg.c:
        raise ValueError(f"c={cfg.c} is the failing option")
    value = (cfg.x - 0.3) ** 2 + (cfg.y - 3) ** 2 / 10 + {"a": 0.0, "b": 0.2, "c": 0.4}[cfg.c]
    _line(run.out_dir / "trained.txt")
    return value


def _line(path) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()} {time.time():.3f}\n")


@hydra.main(version_base="1.3", config_path="sweeper_toy_conf", config_name="toy")
def main(cfg: DictConfig) -> float:
    return toy(cfg)


if __name__ == "__main__":
    main()
