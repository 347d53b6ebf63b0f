"""The genarch sweeper in process with a fake launcher (not a test module: no test_ prefix). The launcher returns
a value or an exception per override list and writes no ledger record, so the sweeper records each job itself."""

from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf


class FakeLauncher:
    """Returns a result per override list: a value, or an exception, without writing any ledger record."""

    def __init__(self, result):
        self.result, self.calls = result, []

    def launch(self, overrides, initial_job_idx):
        rets = []
        for i, ovr in enumerate(overrides):
            self.calls.append((initial_job_idx + i, list(ovr)))
            ret = JobReturn(overrides=list(ovr))
            value = self.result(initial_job_idx + i, ovr)
            if isinstance(value, BaseException):
                ret.status, ret._return_value = JobStatus.FAILED, value
            else:
                ret.status, ret._return_value = JobStatus.COMPLETED, value
            rets.append(ret)
        return rets


def fake_sweeper(tmp_path, result, objective=None, **settings):
    from genarch.sweeper._impl import NevergradSweeperImpl
    from genarch.sweeper.config import SweeperSettings

    sweeper = NevergradSweeperImpl(SweeperSettings(seed=0, **settings))
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}, "runtime": {"choices": {}}},
                                       "objective": objective or {"name": "auto", "direction": "auto"}})
    sweeper.launcher = FakeLauncher(result)
    return sweeper
