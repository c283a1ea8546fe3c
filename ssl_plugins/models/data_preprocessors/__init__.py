from .batched_augment import BatchedAugmentDataPreprocessor, BatchedPhotometricAugment

__all__ = ['BatchedAugmentDataPreprocessor', 'BatchedPhotometricAugment']
