# mmpretrain's datasets/transforms populate the parents of our registries.
import mmpretrain.datasets  # noqa: F401

from .fashion_mnist import FashionMNIST, read_idx
from .samplers import ResumableSampler
from .skip_bad_images import SkipBadImages, TooManyBadImagesError
from .transforms import BadImageError, LoadImageFromFileChecked, MultiCrop

__all__ = [
    'FashionMNIST', 'read_idx', 'ResumableSampler', 'MultiCrop',
    'LoadImageFromFileChecked', 'BadImageError', 'SkipBadImages',
    'TooManyBadImagesError'
]
