"""A toy Hydra app for the sweeper tests: instant, deterministic, fails or returns NaN on request.

Not a test module (no test_ prefix); tests run it as a subprocess: python tests/sweeper_toy.py ... -m"""

import json
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="sweeper_toy_conf", config_name="toy")
def main(cfg: DictConfig) -> float:
    start = 0
    if cfg.resume_from is not None:  # a multi-fidelity rung continuing from its previous rung's "checkpoint"
        start = json.loads(Path(cfg.resume_from).read_text())["epoch"]
    for _ in range(start, cfg.epochs):  # "train" epoch by epoch (sleep per epoch), keeping a checkpoint
        if cfg.sleep:
            time.sleep(float(cfg.sleep))
        if cfg.checkpoint:
            out = Path(HydraConfig.get().runtime.output_dir)
            (out / "checkpoints").mkdir(exist_ok=True)
            (out / "checkpoints" / "last.ckpt").write_text(json.dumps({"epoch": _ + 1}))
            (out / "progress.json").write_text(json.dumps({"start_epoch": start, "epochs": _ + 1}))
    if cfg.fail_if_c == cfg.c:
        raise ValueError(f"c={cfg.c} is the failing option")
    if cfg.nan_above is not None and cfg.x > cfg.nan_above:
        return float("nan")
    return ((cfg.x - 0.3) ** 2 + (cfg.y - 3) ** 2 / 10 + {"a": 0.0, "b": 0.2, "c": 0.4}[cfg.c]
            + cfg.epoch_penalty / cfg.epochs)


if __name__ == "__main__":
    main()
