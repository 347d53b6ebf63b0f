"""genarch's experiments, run as modules from the repository root: ``python -m experiments.tfbs.head_to_head``."""
