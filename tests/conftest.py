"""Every test starts with IEEE subnormals: loading a trained network (genarch.training.runner.load_trained)
leaves its thread flushing them, and tests that generate floats (Hypothesis) need them."""

import pytest
import torch


@pytest.fixture(autouse=True)
def ieee_subnormals():
    torch.set_flush_denormal(False)
    yield
    torch.set_flush_denormal(False)
