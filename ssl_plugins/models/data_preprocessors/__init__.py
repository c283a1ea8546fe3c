from .batched_augment import (BatchedAugmentDataPreprocessor,
                              BatchedPhotometricAugment)
from .device_decode_crop import DeviceDecodeCropPreprocessor  # noqa: F401

__all__ = ['BatchedAugmentDataPreprocessor', 'BatchedPhotometricAugment']
