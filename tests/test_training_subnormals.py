"""Subnormal floats are flushed to zero in the processes that train or predict (genarch.training.subnormals)."""

import pytest
import torch

from genarch.training.subnormals import flush_subnormals


@pytest.fixture
def restore_fpu():
    yield
    torch.set_flush_denormal(False)


@pytest.mark.parametrize("a, b", [(1e-30, 1e-10), (-3e-20, 2e-19), (1.5e-38, 0.5)])
def test_a_subnormal_product_is_zero_once_flushed(restore_fpu, a, b):
    torch.set_flush_denormal(False)
    x = torch.tensor([a], dtype=torch.float32) * b
    assert x.item() != 0.0 and abs(x.item()) < torch.finfo(torch.float32).tiny  # a subnormal as computed
    if not flush_subnormals():
        pytest.skip("this CPU has no flush-to-zero mode")
    assert (torch.tensor([a], dtype=torch.float32) * b).item() == 0.0


def test_normal_numbers_are_untouched(restore_fpu):
    flush_subnormals()
    tiny = torch.finfo(torch.float32).tiny
    assert (torch.tensor([tiny * 4], dtype=torch.float32) / 2).item() == pytest.approx(tiny * 2)
