from .image_bytes import (EncodedImage, LoadImageBytes,  # noqa: F401
                          PackEncodedImage)
from .loading import (BAD_IMAGE_REASONS, BadImageError,
                      LoadImageFromFileChecked, find_image_problem, read_image)
from .multi_crop import MultiCrop, random_resized_crop_box

__all__ = [
    'MultiCrop', 'random_resized_crop_box', 'LoadImageFromFileChecked',
    'BadImageError', 'BAD_IMAGE_REASONS', 'read_image', 'find_image_problem'
]
