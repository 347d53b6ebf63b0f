"""Subnormal floats are flushed to zero while genarch trains or predicts (genarch.training.subnormals)."""

import pytest
import torch

from genarch.training.subnormals import flush_subnormals, flushing_subnormals, subnormals_flushed

TINY = torch.finfo(torch.float32).tiny


@pytest.mark.parametrize("a, b", [(1e-30, 1e-10), (-3e-20, 2e-19), (1.5e-38, 0.5)])
def test_a_subnormal_product_is_zero_once_flushed(a, b):  # tests start with IEEE subnormals (conftest)
    x = torch.tensor([a], dtype=torch.float32) * b
    assert x.item() != 0.0 and abs(x.item()) < TINY  # a subnormal as computed
    if not flush_subnormals():
        pytest.skip("this CPU has no flush-to-zero mode")
    assert (torch.tensor([a], dtype=torch.float32) * b).item() == 0.0


def test_normal_numbers_are_untouched():
    flush_subnormals()
    assert (torch.tensor([TINY * 4], dtype=torch.float32) / 2).item() == TINY * 2  # exact in float32


@pytest.mark.parametrize("before", [False, True])
def test_the_block_flushes_and_gives_back_the_callers_mode(before):
    torch.set_flush_denormal(before)
    if before and not subnormals_flushed():
        pytest.skip("this CPU has no flush-to-zero mode")
    with flushing_subnormals() as supported:
        assert subnormals_flushed() is supported
    assert subnormals_flushed() is before
