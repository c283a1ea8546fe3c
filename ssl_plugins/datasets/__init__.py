# mmpretrain's datasets/transforms populate the parents of our registries.
import mmpretrain.datasets  # noqa: F401

from .fashion_mnist import FashionMNIST, read_idx  # noqa: E402
from .samplers import ResumableSampler  # noqa: E402
from .skip_bad_images import (SkipBadImages,  # noqa: E402
                              TooManyBadImagesError)
from .transforms import (BadImageError, LoadImageFromFileChecked,  # noqa: E402
                         MultiCrop)

__all__ = [
    'FashionMNIST', 'read_idx', 'ResumableSampler', 'MultiCrop', 'LoadImageFromFileChecked',
    'BadImageError', 'SkipBadImages', 'TooManyBadImagesError'
]
