"""numpy-2-safe hue adjustment for mmcv 2.2.

mmcv 2.2 shifts the hue channel by ``np.uint8(hue_factor * 255)``; numpy 2
raises ``OverflowError`` for negative values, so any ColorJitter with hue > 0
crashes half of the time. We replace it with a modular shift (same result as
numpy 1's wrap-around).
"""
import numpy as np


def adjust_hue(img: np.ndarray, hue_factor: float, backend=None) -> np.ndarray:
    """Rotate the hue of a BGR image by ``hue_factor`` of a full turn.

    Args:
        img (np.ndarray): BGR image, HxWx3 (a 2-D or 1-channel image has no
            hue and is returned unchanged).
        hue_factor (float): In [-0.5, 0.5]; 0 keeps the image.
        backend (str, optional): 'cv2' or 'pillow'; None uses mmcv's global
            ``imread_backend``.
    """
    import cv2
    from mmcv.image import io as mmcv_io
    backend = backend or mmcv_io.imread_backend
    if backend not in ('cv2', 'pillow'):
        raise ValueError(f"backend: {backend} is not supported. Supported "
                         "backends are 'cv2', 'pillow'")
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor:{hue_factor} is not in [-0.5, 0.5].')
    if not (isinstance(img, np.ndarray) and img.ndim in (2, 3)):
        raise TypeError('img should be ndarray with dim=[2 or 3].')
    if img.ndim == 2 or img.shape[2] == 1:
        return img
    shift = np.uint8(int(round(hue_factor * 255)) % 256)
    dtype = img.dtype
    if backend == 'pillow':
        from PIL import Image
        h, s, v = Image.fromarray(
            np.ascontiguousarray(img[..., ::-1].astype(np.uint8)),
            mode='RGB').convert('HSV').split()
        h = Image.fromarray(np.asarray(h, dtype=np.uint8) + shift, 'L')
        rgb = Image.merge('HSV', (h, s, v)).convert('RGB')
        return np.asarray(rgb, dtype=dtype)[..., ::-1]
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    hsv[..., 0] += shift  # uint8 arithmetic wraps around the hue circle
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(dtype)


def patch_adjust_hue() -> None:
    """Install :func:`adjust_hue` wherever mmcv exposes it."""
    try:
        import mmcv
        import mmcv.image
        import mmcv.image.photometric as photometric
    except ImportError:  # mmcv is optional for the math
        return
    for module in (mmcv, mmcv.image, photometric):
        if hasattr(module, 'adjust_hue'):
            module.adjust_hue = adjust_hue
