"""Models of the Genetic Architect search space, built from the ``model`` config group."""

from genarch.model.builder import GenomicNet, count_parameters
from genarch.model.validate import ConfigError, validate_model

__all__ = ["ConfigError", "GenomicNet", "count_parameters", "validate_model"]
