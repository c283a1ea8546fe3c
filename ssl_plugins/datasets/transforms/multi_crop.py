"""Multi-crop: several random-resized crops per image, in groups.

One transform for every method: BYOL/SimSiam/Barlow Twins use two groups of
one crop each (different photometric pipelines), SwAV 2 global + 6 local
crops (Caron et al. 2020, §3.2), DINO 1 + 1 global (different blur/solarize)
+ 10 local crops (Caron et al. 2021, App. D).
"""
import math
from typing import List, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from ssl_plugins.registry import TRANSFORMS

_INTERP = dict(
    nearest=cv2.INTER_NEAREST,
    bilinear=cv2.INTER_LINEAR,
    bicubic=cv2.INTER_CUBIC,
    area=cv2.INTER_AREA)


def random_resized_crop_box(height: int, width: int,
                            scale: Tuple[float, float],
                            ratio: Tuple[float, float]
                            ) -> Tuple[int, int, int, int]:
    """Inception-style crop box ``(top, left, h, w)``.

    Area fraction uniform in ``scale``, aspect ratio log-uniform in ``ratio``;
    after 10 failed draws, the largest central crop within ``ratio``.
    """
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * np.random.uniform(*scale)
        aspect = math.exp(np.random.uniform(*log_ratio))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = np.random.randint(0, height - h + 1)
            left = np.random.randint(0, width - w + 1)
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        h, w = height, width
    return (height - h) // 2, (width - w) // 2, h, w


@TRANSFORMS.register_module()
class MultiCrop(BaseTransform):
    """Random-resized crops (+ horizontal flip) in groups, each group with its
    own photometric pipeline.

    ``results['img']`` becomes a list of views, group after group, so that
    ``PackInputs`` + ``default_collate`` give one batch tensor per view and
    views of one size are adjacent (an algorithm runs its backbone once per
    resolution).

    Args:
        num_crops (Sequence[int]): crops per group, e.g. ``(2, 6)`` for SwAV
            or ``(1, 1, 10)`` for DINO.
        crop_sizes (Sequence[int]): output side of each group, e.g.
            ``(224, 96)``.
        crop_scales (Sequence[tuple]): area fraction range of each group,
            e.g. ``((0.14, 1.), (0.05, 0.14))`` (SwAV).
        transforms (Sequence[list]): photometric pipeline of each group
            (transform configs or callables applied to ``{'img': crop}``).
        ratio (tuple): aspect-ratio range. Defaults to (3/4, 4/3).
        flip_prob (float): horizontal flip probability. Defaults to 0.5.
        interpolation (str): 'nearest', 'bilinear', 'bicubic' or 'area'.
            Defaults to 'bilinear' (torchvision's default, SwAV's code;
            DINO uses 'bicubic').
    """

    def __init__(self,
                 num_crops: Sequence[int],
                 crop_sizes: Sequence[int],
                 crop_scales: Sequence[Tuple[float, float]],
                 transforms: Sequence[List[Union[dict, callable]]] = None,
                 ratio: Tuple[float, float] = (3. / 4., 4. / 3.),
                 flip_prob: float = 0.5,
                 interpolation: str = 'bilinear'):
        groups = len(num_crops)
        transforms = transforms if transforms is not None else [[]] * groups
        lengths = dict(crop_sizes=len(crop_sizes),
                       crop_scales=len(crop_scales),
                       transforms=len(transforms))
        bad = {k: v for k, v in lengths.items() if v != groups}
        if bad:
            raise ValueError(
                f'MultiCrop: num_crops has {groups} groups but '
                + ', '.join(f'{k} has {v}' for k, v in bad.items()))
        if interpolation not in _INTERP:
            raise ValueError(f'MultiCrop: interpolation must be one of '
                             f'{list(_INTERP)}, got {interpolation!r}')
        for scale in crop_scales:
            if not 0 < scale[0] <= scale[1] <= 1:
                raise ValueError(f'MultiCrop: crop scale {scale} must satisfy '
                                 '0 < min <= max <= 1')
        self.num_crops = list(num_crops)
        self.crop_sizes = list(crop_sizes)
        self.crop_scales = [tuple(s) for s in crop_scales]
        self.ratio = tuple(ratio)
        self.flip_prob = flip_prob
        self.interpolation = interpolation
        self.pipelines = [[
            TRANSFORMS.build(t) if isinstance(t, dict) else t for t in group
        ] for group in transforms]

    def _crop(self, img: np.ndarray, size: int,
              scale: Tuple[float, float]) -> np.ndarray:
        top, left, h, w = random_resized_crop_box(img.shape[0], img.shape[1],
                                                  scale, self.ratio)
        crop = cv2.resize(img[top:top + h, left:left + w], (size, size),
                          interpolation=_INTERP[self.interpolation])
        if crop.ndim == 2 and img.ndim == 3:  # cv2 drops a single channel
            crop = crop[..., None]
        if np.random.rand() < self.flip_prob:
            crop = crop[:, ::-1]
        return np.ascontiguousarray(crop)

    def transform(self, results: dict) -> dict:
        img = results['img']
        views = []
        for n, size, scale, pipeline in zip(self.num_crops, self.crop_sizes,
                                            self.crop_scales, self.pipelines):
            for _ in range(n):
                view = dict(img=self._crop(img, size, scale))
                for t in pipeline:
                    view = t(view)
                views.append(view['img'])
        results['img'] = views
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_crops={self.num_crops}, '
                f'crop_sizes={self.crop_sizes}, '
                f'crop_scales={self.crop_scales})')
