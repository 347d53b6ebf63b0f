"""genarch: staged, interpretable neural-architecture search for genomic sequence models.

Implements the method of "Genetic Architect" (Deming et al. 2016) on Hydra config groups,
a Nevergrad sweeper, PyTorch Lightning training and a post-sweep analysis hook.
"""

import os

__version__ = "0.1.0"

# torch's CPU kernels run on OpenMP, whose threads spin while they wait for work. With another job
# on the same cores (a second trial, a test run) the spinning threads starve the workers: a 2-thread
# run beside one other single-thread job took 60.9 s instead of 12.1 s with passive waiting
# (embedded default, 2-core machine). On an idle machine passive waiting costs about 8% (AttentionNet,
# 2 threads: 7,276 vs 7,917 seq/s); set OMP_WAIT_POLICY=ACTIVE for that when nothing else runs.
# OpenMP reads this once, when torch loads it, so it is set here, before genarch imports torch; a
# value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
