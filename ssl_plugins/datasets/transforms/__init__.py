from .multi_crop import MultiCrop, random_resized_crop_box

__all__ = ['MultiCrop', 'random_resized_crop_box']
