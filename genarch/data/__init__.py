"""Datasets: readers of real genomic formats and the embedded synthetic default."""

from genarch.data.base import ArraySplit, DataBundle, Dataset, to_float

__all__ = ["ArraySplit", "DataBundle", "Dataset", "to_float", "load_dataset"]


def load_dataset(dataset_cfg) -> DataBundle:
    """Instantiate a ``dataset`` config group option and load its splits."""
    from hydra.utils import instantiate

    dataset = instantiate(dataset_cfg, _convert_="all")
    bundle = dataset.load()
    if not isinstance(bundle, DataBundle):
        raise TypeError(f"{type(dataset).__name__}.load() must return a DataBundle, got {type(bundle).__name__}")
    return bundle
