# mmpretrain's datasets/transforms populate the parents of our registries.
import mmpretrain.datasets  # noqa: F401

from .fashion_mnist import FashionMNIST, read_idx  # noqa: E402
from .transforms import MultiCrop  # noqa: E402

__all__ = ['FashionMNIST', 'read_idx', 'MultiCrop']
