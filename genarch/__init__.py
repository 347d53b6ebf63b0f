"""genarch: staged, interpretable neural-architecture search for genomic sequence models.

Implements the method of "Genetic Architect" (Deming et al. 2016) on Hydra config groups,
a Nevergrad sweeper, PyTorch Lightning training and a post-sweep analysis hook.
"""

__version__ = "0.1.0"
