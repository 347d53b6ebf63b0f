"""A toy Hydra app for the sweeper tests: instant, deterministic, fails or returns NaN on request.

Not a test module (no test_ prefix); tests run it as a subprocess: python tests/sweeper_toy.py ... -m"""

import time

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="sweeper_toy_conf", config_name="toy")
def main(cfg: DictConfig) -> float:
    if cfg.sleep:
        time.sleep(float(cfg.sleep))
    if cfg.fail_if_c == cfg.c:
        raise ValueError(f"c={cfg.c} is the failing option")
    if cfg.nan_above is not None and cfg.x > cfg.nan_above:
        return float("nan")
    return (cfg.x - 0.3) ** 2 + (cfg.y - 3) ** 2 / 10 + {"a": 0.0, "b": 0.2, "c": 0.4}[cfg.c]


if __name__ == "__main__":
    main()
