"""The callback inside a real Hydra multirun: registered under hydra.callbacks, it analyses the
sweep in on_multirun_end from config.hydra.sweep.dir."""

import json
import subprocess
import sys
import textwrap

APP = textwrap.dedent('''
    import math
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from genarch.ledger import append_record

    @hydra.main(config_path="conf", config_name="config", version_base="1.3")
    def main(cfg):
        hc = HydraConfig.get()
        params = {"model/rnn": cfg.rnn, "optimizer.lr_scale": float(cfg.lr)}
        value = (0.1 if cfg.rnn == "lstm" else 0.0) - 0.05 * (math.log10(cfg.lr) + 0.3) ** 2 + 0.7
        append_record(hc.sweep.dir, {"job": hc.job.num, "event": "end", "status": "ok", "params": params,
                                     "objective": {"name": "val_auroc", "direction": "maximize", "value": value}})

    if __name__ == "__main__":
        main()
''')

CONFIG = textwrap.dedent('''
    rnn: none
    lr: 1.0
    hydra:
      callbacks:
        analysis:
          _target_: genarch.analysis.callback.AnalysisCallback
          seeds: 2
          n_estimators: 15
          html: false
''')


def test_callback_analyses_a_real_multirun(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yaml").write_text(CONFIG)
    (tmp_path / "app.py").write_text(APP)
    sweep = tmp_path / "sweep"
    proc = subprocess.run(
        [sys.executable, "app.py", "-m", "rnn=none,lstm,gru", "lr=0.01,0.1,0.3,1,3,10", f"hydra.sweep.dir={sweep}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((sweep / "analysis" / "analysis.json").read_text())
    assert "error" not in data and data["n_used"] == 18
    assert data["important"][0] == "model/rnn"
    assert (sweep / "analysis" / "next_stage.yaml").exists()
    summary = (sweep / "analysis" / "summary.txt").read_text()
    assert "Top-quantile tree" in proc.stdout + proc.stderr or "Top-quantile tree" in summary
