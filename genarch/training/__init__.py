"""Training of one architecture with PyTorch Lightning."""

from genarch.training.runner import MODEL_FILE, build_model, load_trained, train

__all__ = ["MODEL_FILE", "build_model", "load_trained", "train"]
