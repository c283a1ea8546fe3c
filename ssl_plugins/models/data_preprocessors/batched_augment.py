"""Data preprocessor that applies the photometric augmentations on the
batch."""
import inspect
from typing import List, Optional, Sequence

import torch
from mmpretrain.models.utils import SelfSupDataPreprocessor
from torch import nn

from ssl_plugins.registry import MODELS
from .photometric import (apply_photometric, jitter_range,
                          sample_photometric_params)


class BatchedPhotometricAugment(nn.Module):
    """Colour jitter, greyscale, blur, solarize of a float RGB batch in [0, 1],
    one random draw per sample (see :mod:`.photometric`).

    Args:
        blur_kernel_size (int, optional): odd kernel side; defaults to the odd
            number nearest 10% of the image side (23 for 224 px, as
            BYOL/SimCLR).
        solarize_threshold (float): threshold in [0, 1] (128/255 for uint8).
        **sample_cfg: the draws' settings, arguments of
            :func:`~.photometric.sample_photometric_params`
            (defaults: BYOL's view 1):
        brightness, contrast, saturation (float): jitter strengths; factors
            uniform in ``[max(0, 1 - s), 1 + s]``.
        hue (float): hue shift uniform in ``[-hue, hue]`` turns.
        jitter_prob (float): probability of the colour jitter.
        grayscale_prob (float): probability of greyscale.
        blur_prob (float): probability of the Gaussian blur.
        blur_sigma (tuple): sigma range in pixels (uniform).
        solarize_prob (float): probability of solarisation.
    """

    def __init__(self,
                 blur_kernel_size: Optional[int] = None,
                 solarize_threshold: float = 128 / 255,
                 **sample_cfg):
        super().__init__()
        try:  # the draws' settings are sample_photometric_params' arguments
            bound = inspect.signature(sample_photometric_params).bind(
                0, **sample_cfg)
        except TypeError as e:
            raise TypeError(f'BatchedPhotometricAugment: {e}') from None
        bound.apply_defaults()
        cfg = {k: v for k, v in bound.arguments.items()
               if k not in ('n', 'device', 'generator')}
        for name in ('jitter_prob', 'grayscale_prob', 'blur_prob',
                     'solarize_prob'):
            if not 0 <= cfg[name] <= 1:
                raise ValueError(f'BatchedPhotometricAugment: {name} must be '
                                 f'in [0, 1], got {cfg[name]}')
        for name in ('brightness', 'contrast', 'saturation', 'hue'):
            jitter_range(name, cfg[name])  # validates
        if blur_kernel_size is not None and blur_kernel_size % 2 != 1:
            raise ValueError('BatchedPhotometricAugment: blur_kernel_size '
                             f'must be odd, got {blur_kernel_size}')
        self.sample_cfg = cfg
        self.blur_kernel_size = blur_kernel_size
        self.solarize_threshold = solarize_threshold

    def kernel_size(self, side: int) -> int:
        if self.blur_kernel_size is not None:
            return self.blur_kernel_size
        k = max(3, int(round(0.1 * side)))
        return k if k % 2 else k + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Augmentation is data processing, not the model: fp32 also inside
        # the optim wrapper's autocast (mmengine's train_step runs the data
        # preprocessor there; AutocastOptimWrapper, AmpOptimWrapper), where
        # the blur's convolution would return bf16/fp16 into the batch.
        with torch.autocast(device_type=x.device.type, enabled=False):
            params = sample_photometric_params(x.shape[0], device=x.device,
                                               **self.sample_cfg)
            return apply_photometric(x.float(), params,
                                     self.kernel_size(x.shape[-1]),
                                     self.solarize_threshold)

    def extra_repr(self) -> str:
        return ', '.join(f'{k}={v}' for k, v in self.sample_cfg.items())


@MODELS.register_module()
class BatchedAugmentDataPreprocessor(SelfSupDataPreprocessor):
    """``SelfSupDataPreprocessor`` + photometric augmentations on the batch.

    The loader's pipeline only decodes, crops and flips (``MultiCrop`` with
    empty ``transforms``); here, in training mode, each view is converted to
    RGB floats in [0, 1], augmented per sample by its group's
    :class:`BatchedPhotometricAugment` (on the model's device, i.e. the GPU
    at scale), then normalised with ``mean``/``std`` as usual. In eval mode
    nothing is augmented. The augmentations run in fp32 also under the
    optim wrapper's bf16/fp16 autocast (mmengine runs the data preprocessor
    inside it).

    Args:
        view_augments (list[dict]): one entry per group of views, in the
            order of ``MultiCrop``'s groups: ``dict(num_views=n, **kwargs)``
            with kwargs of :class:`BatchedPhotometricAugment` (``None``
            entries: no augmentation for that group).
        channels_last (bool): return the views in ``channels_last`` memory
            format (faster convolutions on recent CPUs/GPUs). Defaults to
            False.
        **kwargs: ``mean``, ``std``, ``to_rgb``... of
            ``SelfSupDataPreprocessor``. The augmentations assume RGB after
            the optional channel conversion (set ``to_rgb=True`` for BGR
            images loaded by mmcv).

    Example:
        >>> pre = BatchedAugmentDataPreprocessor(
        ...     mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        ...     view_augments=[dict(num_views=1, blur_prob=1.0),
        ...                    dict(num_views=1, blur_prob=0.1,
        ...                         solarize_prob=0.2)])
    """

    def __init__(self,
                 view_augments: Sequence[Optional[dict]] = (),
                 channels_last: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_views: List[int] = []
        augments = []
        for i, cfg in enumerate(view_augments):
            cfg = dict(cfg or {})
            n = cfg.pop('num_views', 1)
            if not isinstance(n, int) or n < 1:
                raise ValueError(f'BatchedAugmentDataPreprocessor: '
                                 f'view_augments[{i}].num_views must be a '
                                 f'positive int, got {n!r}')
            self.num_views.append(n)
            augments.append(BatchedPhotometricAugment(**cfg)
                            if cfg or view_augments[i] is not None else
                            nn.Identity())
        self.augments = nn.ModuleList(augments)
        self.channels_last = channels_last

    def _augment_of_view(self, index: int, total: int) -> Optional[nn.Module]:
        if not self.num_views:
            return None
        if sum(self.num_views) != total:
            raise ValueError(
                f'BatchedAugmentDataPreprocessor: view_augments describe '
                f'{sum(self.num_views)} views ({self.num_views}) but the '
                f'batch has {total}; match the MultiCrop num_crops.')
        for n, aug in zip(self.num_views, self.augments):
            if index < n:
                return aug
            index -= n
        return None

    def forward(self, data: dict, training: bool = False) -> dict:
        if not training or not self.num_views:
            out = super().forward(data, training)
        else:
            data = self.cast_data(data)
            inputs = data['inputs']
            views = list(inputs) if isinstance(inputs, (list, tuple)) else [
                inputs]
            out_views = []
            for i, view in enumerate(views):
                if self._channel_conversion:
                    view = view[:, [2, 1, 0], ...]
                x = view.float()
                aug = self._augment_of_view(i, len(views))
                if aug is not None and not isinstance(aug, nn.Identity):
                    x = aug(x / 255.0) * 255.0
                if self._enable_normalize:
                    x = (x - self.mean) / self.std
                out_views.append(x)
            out = dict(inputs=out_views if isinstance(inputs, (list, tuple))
                       else out_views[0],
                       data_samples=data.get('data_samples'))
        if self.channels_last:
            inputs = out['inputs']
            if isinstance(inputs, (list, tuple)):
                out['inputs'] = [
                    v.contiguous(memory_format=torch.channels_last)
                    if v.dim() == 4 else v for v in inputs]
            elif isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
                out['inputs'] = inputs.contiguous(
                    memory_format=torch.channels_last)
        return out
