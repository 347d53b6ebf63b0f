"""Subnormal floats are flushed to zero while genarch trains or predicts (genarch.training.subnormals), and the
thread's float mode is the caller's again afterwards: no test here leaves it changed."""

import numpy as np
import pytest
import torch
from torch import nn

from genarch.training.subnormals import flushing_subnormals, subnormals_flushed

TINY = torch.finfo(torch.float32).tiny
SUBNORMAL = 1e-39  # below float32's smallest normal number (1.2e-38)


@pytest.fixture
def ieee_mode():
    """The test runs with IEEE subnormals; the mode it found is put back after it."""
    before = subnormals_flushed()
    torch.set_flush_denormal(False)
    yield
    torch.set_flush_denormal(before)


@pytest.mark.parametrize("a, b", [(1e-30, 1e-10), (-3e-20, 2e-19), (1.5e-38, 0.5)])
def test_a_subnormal_product_is_zero_once_flushed(ieee_mode, a, b):
    x = torch.tensor([a], dtype=torch.float32) * b
    assert x.item() != 0.0 and abs(x.item()) < TINY  # a subnormal as computed
    with flushing_subnormals() as supported:
        if not supported:
            pytest.skip("this CPU has no flush-to-zero mode")
        assert (torch.tensor([a], dtype=torch.float32) * b).item() == 0.0
    assert (torch.tensor([a], dtype=torch.float32) * b).item() == x.item()  # IEEE again after the block


def test_normal_numbers_are_untouched(ieee_mode):
    with flushing_subnormals():
        assert (torch.tensor([TINY * 4], dtype=torch.float32) / 2).item() == TINY * 2  # exact in float32


@pytest.mark.parametrize("before", [False, True])
def test_the_block_flushes_and_gives_back_the_callers_mode(ieee_mode, before):
    torch.set_flush_denormal(before)
    if before and not subnormals_flushed():
        pytest.skip("this CPU has no flush-to-zero mode")
    with flushing_subnormals() as supported:
        assert subnormals_flushed() is supported
    assert subnormals_flushed() is before


def one_weight_net() -> nn.Module:
    """Output = SUBNORMAL x (the one-hot base at the one position): a subnormal unless flushed."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 1, bias=False))
    with torch.no_grad():
        net[1].weight.fill_(SUBNORMAL)
    return net


@pytest.mark.parametrize("which", ["module.predict", "batches.predict_on"])
def test_prediction_flushes_subnormal_weights_and_keeps_the_callers_mode(ieee_mode, which):
    from genarch.training.batches import predict_on
    from genarch.training.module import predict

    x = np.zeros((3, 4, 1), dtype=np.uint8)
    x[:, 0, 0] = 1
    net = one_weight_net()
    assert 0.0 < net(torch.from_numpy(x).float())[0].item() < TINY  # IEEE: the weight comes through as a subnormal
    with flushing_subnormals() as supported:
        pass
    if not supported:
        pytest.skip("this CPU has no flush-to-zero mode")
    run = {"module.predict": lambda: predict(net, x, 2),
           "batches.predict_on": lambda: predict_on(torch.device("cpu"), net, x, 2)}[which]
    with torch.no_grad():
        assert np.array_equal(run(), np.zeros((3, 1), dtype=np.float32))
    assert not subnormals_flushed()


WORKER_THREADS = """
import sys, torch
if sys.argv[1] == "cli":
    import runpy
    sys.argv = ["genarch.predict", "/nonexistent-run", "/nonexistent.fa"]
    try:  # python -m genarch.predict: fails on its input, after setting the mode
        runpy.run_module("genarch.predict", run_name="__main__")
    except SystemExit as stop:
        assert stop.code == 2
torch.set_num_threads(2)
x = torch.full((1_000_000,), 1e-30) * torch.full((1_000_000,), 1e-10)  # subnormal products, split over 2 threads
print(int((x != 0).sum()))
"""


@pytest.mark.parametrize("how, nonzero", [("cli", 0), ("plain", 1_000_000)])
def test_a_command_line_process_flushes_in_torchs_worker_threads_too(how, nonzero):
    import subprocess
    import sys
    from pathlib import Path

    if how == "cli" and not flush_supported():
        pytest.skip("this CPU has no flush-to-zero mode")
    proc = subprocess.run([sys.executable, "-c", WORKER_THREADS, how], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout.split()[-1]) == nonzero


def flush_supported() -> bool:
    with flushing_subnormals() as supported:
        return supported
