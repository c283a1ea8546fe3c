"""Data preprocessor that decodes, crops and flips the batch on its device.

At ImageNet scale the per-image loader pipeline, not the network, limits
multi-crop methods: mmpretrain's SwAV 2x224 + 6x96 pipeline costs ~34 ms of
CPU per sample (docs/benchmarks.md). With this preprocessor the loader only
reads each file's bytes (``LoadImageBytes`` + ``PackEncodedImage``), and the
whole augmentation runs on the batch where the model is: JPEG decoding
(nvJPEG through ``torchvision.io.decode_jpeg(list, device='cuda')``, as
NVIDIA DALI does), the random-resized crops of every view (one batched
resampling per output size, :mod:`.resized_crop`),
the flips, then the batched photometric ops of
:class:`BatchedAugmentDataPreprocessor`. On a CPU the same code runs on the
CPU.
"""
import re
from typing import List, Optional, Sequence, Tuple

import torch
from torchvision.io import ImageReadMode, decode_image, decode_jpeg

from ssl_plugins.datasets.transforms.image_bytes import (EncodedImage,
                                                         image_format)
from ssl_plugins.datasets.transforms.loading import BadImageError, _diagnose
from ssl_plugins.registry import MODELS
from .batched_augment import BatchedAugmentDataPreprocessor
from .resized_crop import pack_images, resized_crops, sample_resized_crop_boxes

#: One view's crop parameters: ``(N, 4)`` boxes (top, left, h, w) and
#: ``(N,)`` bool flips.
CropParams = Tuple[torch.Tensor, torch.Tensor]


def _bad_image(path: str, data: torch.Tensor,
               err: RuntimeError) -> BadImageError:
    """The error for bytes torchvision cannot decode, with the reason."""
    # torchvision's messages start with 'function, /source/file.cpp:line, '
    cause = RuntimeError(re.sub(r'^\w+, \S+:\d+, ', '', str(err)))
    raw = data.numpy().tobytes()
    bad = _diagnose(path, raw, 'torchvision', cause)
    fmt = image_format(raw[:12])
    if bad.reason == 'not an image' and fmt is not None:
        # Pillow cannot identify it, yet it starts like an image.
        detail = f'{fmt} signature, torchvision: {cause}'
        bad = BadImageError(f'Bad image {path}: corrupt ({detail})', path,
                            'corrupt', detail)
    return bad


def _decode_one(data: torch.Tensor, path: str,
                device: torch.device) -> torch.Tensor:
    """Decode one file as RGB uint8 on ``device``; name it if it fails."""
    try:
        return decode_jpeg(data, mode=ImageReadMode.RGB, device=device)
    except RuntimeError:
        pass  # not a JPEG, or one this decoder refuses: try the CPU's
    try:  # PNG/GIF/WebP, and JPEGs nvJPEG cannot read (CMYK, ...)
        img = decode_image(data, mode=ImageReadMode.RGB)
    except RuntimeError as err:
        raise _bad_image(path, data, err) from err
    if img.dtype != torch.uint8:  # 16-bit PNG
        img = (img.to(torch.int32) // 257).to(torch.uint8)
    return img.to(device)


def decode_images(encoded: Sequence[torch.Tensor], paths: Sequence[str],
                  device: torch.device) -> List[torch.Tensor]:
    """Decode a batch of encoded images into RGB uint8 ``(3, H, W)`` tensors.

    All files go to one batched ``torchvision.io.decode_jpeg`` call, on the
    GPU (nvJPEG) when ``device`` is CUDA, else on the CPU (libjpeg-turbo,
    then moved to ``device``). If that call fails (it returns nothing
    partial), the files are decoded one by one, non-JPEG formats and JPEGs
    the device decoder refuses with ``torchvision.io.decode_image`` on the
    CPU, so that the error names the bad file. EXIF orientation is not
    applied (nvJPEG cannot); mmcv's loader (OpenCV or Pillow) applies it, so
    the rare photo rotated by its EXIF tag is seen unrotated here.

    Args:
        encoded (Sequence[Tensor]): 1-D uint8 CPU tensors, the files' bytes.
        paths (Sequence[str]): the files, for error messages.
        device (torch.device): where the images should be.

    Returns:
        list[Tensor]: one ``(3, H_i, W_i)`` uint8 tensor per file.

    Raises:
        BadImageError: a file is empty or cannot be decoded (reason
            'empty', 'not an image', 'truncated' or 'corrupt').
    """
    device = torch.device(device)
    on = device if device.type == 'cuda' else torch.device('cpu')
    encoded = [t.cpu() for t in encoded]
    for t, path in zip(encoded, paths):
        if t.dim() != 1 or t.dtype != torch.uint8:
            raise TypeError(f'decode_images: {path} is not a 1-D uint8 byte '
                            f'tensor (got {t.dtype}, {tuple(t.shape)})')
        if t.numel() == 0:
            raise BadImageError(f'Bad image {path}: empty (file has 0 bytes)',
                                path, 'empty', 'file has 0 bytes')
    try:
        images = decode_jpeg(encoded, mode=ImageReadMode.RGB, device=on)
    except RuntimeError:
        images = [_decode_one(t, path, on) for t, path in zip(encoded, paths)]
    return [img.to(device, non_blocking=True) for img in images]


@MODELS.register_module()
class DeviceDecodeCropPreprocessor(BatchedAugmentDataPreprocessor):
    """Decode JPEGs, random-resized-crop and flip every view, then augment,
    all on the batch and on the model's device.

    Input: a batch of encoded files, as ``LoadImageBytes`` +
    ``PackEncodedImage`` + ``default_collate`` give it (``inputs`` a list
    of :class:`~ssl_plugins.datasets.transforms.EncodedImage`), or a list
    of 1-D uint8 byte tensors (``pseudo_collate``; paths from the data
    samples' ``img_path``). Output: the views in ``MultiCrop``'s structure,
    a list of ``(N, 3, S, S)`` float tensors, group after group (global
    views first), RGB, augmented in training mode by ``view_augments``
    exactly as :class:`BatchedAugmentDataPreprocessor` does, normalised by
    ``mean``/``std``.

    Steps: (1) one batched ``decode_jpeg`` (nvJPEG on CUDA), see
    :func:`decode_images`; (2) per view and image, a random-resized-crop box
    drawn with torchvision's ``RandomResizedCrop`` rule (area fraction
    uniform in the group's scale, aspect ratio log-uniform in ``ratio``, 10
    attempts then the central fallback;
    :func:`~.resized_crop.sample_resized_crop_boxes`)
    and a flip with probability ``flip_prob``, drawn on the CPU from
    torch's global generator (seeded by mmengine); (3) all crops of one
    output size, of every view and image, cut and resized by one batched
    bilinear resampling of the packed decoded images
    (:func:`~.resized_crop.resized_crops`).

    Differences from the per-image path (``LoadImageFromFile`` +
    ``MultiCrop``): on the CPU torchvision's libjpeg-turbo gives OpenCV's
    pixels (identical on our test JPEGs), nvJPEG may differ by a few grey
    levels (another IDCT and chroma upsampling); bilinear
    without antialiasing only (torchvision's ``antialias=False``;
    ``MultiCrop``/cv2 is not antialiased either, mmpretrain's pillow
    backend is, and its BYOL/DINO configs use bicubic); the crop is
    resampled from the float image without rounding back to uint8; EXIF
    orientation is ignored. The crop distribution is the same.

    Decoding errors cannot be skipped here (the batch is formed): a file
    that does not decode raises
    :class:`~ssl_plugins.datasets.transforms.BadImageError` naming it.
    Batches that are already decoded (a 4-D tensor or a list of view
    tensors, e.g. a kNN hook's loader) go through
    :class:`BatchedAugmentDataPreprocessor` unchanged.

    Args:
        num_crops (Sequence[int]): crops per group, e.g. ``(2, 6)`` (SwAV).
        crop_sizes (Sequence[int]): output side of each group, e.g.
            ``(224, 96)``.
        crop_scales (Sequence[tuple]): area fraction range of each group,
            e.g. ``((0.14, 1.), (0.05, 0.14))``.
        ratio (tuple[float, float]): aspect-ratio range. Defaults to
            (3/4, 4/3).
        flip_prob (float): horizontal flip probability. Defaults to 0.5.
        view_augments (list[dict]): photometric groups, as
            :class:`BatchedAugmentDataPreprocessor`; their ``num_views``
            must add up to ``sum(num_crops)``. Defaults to () (none).
        channels_last (bool): return channels_last views. Defaults to
            False.
        **kwargs: ``mean``, ``std``, ... of ``SelfSupDataPreprocessor``.
            Decoded images are RGB and stay so: ``to_rgb``/``bgr_to_rgb``
            (set in mmpretrain configs for OpenCV's BGR) only apply to
            already-decoded batches; ``rgb_to_bgr=True`` gives BGR views.

    Example:
        >>> pre = DeviceDecodeCropPreprocessor(
        ...     num_crops=(2, 6), crop_sizes=(224, 96),
        ...     crop_scales=((0.14, 1.), (0.05, 0.14)),
        ...     mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        ...     view_augments=[dict(num_views=8, brightness=0.8,
        ...                         contrast=0.8, saturation=0.8, hue=0.2,
        ...                         blur_prob=0.5)])
    """

    def __init__(self,
                 num_crops: Sequence[int],
                 crop_sizes: Sequence[int],
                 crop_scales: Sequence[Tuple[float, float]],
                 ratio: Tuple[float, float] = (3. / 4., 4. / 3.),
                 flip_prob: float = 0.5,
                 view_augments: Sequence[Optional[dict]] = (),
                 channels_last: bool = False,
                 **kwargs) -> None:
        super().__init__(view_augments=view_augments,
                         channels_last=channels_last, **kwargs)
        name = type(self).__name__
        if not (len(num_crops) == len(crop_sizes) == len(crop_scales)) or (
                len(num_crops) == 0):
            raise ValueError(
                f'{name}: num_crops, crop_sizes and crop_scales need one '
                f'entry per group, got {len(num_crops)}, {len(crop_sizes)} '
                f'and {len(crop_scales)}')
        for n, size, scale in zip(num_crops, crop_sizes, crop_scales):
            if not isinstance(n, int) or n < 1:
                raise ValueError(f'{name}: num_crops must be positive ints, '
                                 f'got {list(num_crops)}')
            if not isinstance(size, int) or size < 1:
                raise ValueError(f'{name}: crop_sizes must be positive ints, '
                                 f'got {list(crop_sizes)}')
            if not 0 < scale[0] <= scale[1] <= 1:
                raise ValueError(f'{name}: crop scale {tuple(scale)} must '
                                 'satisfy 0 < min <= max <= 1')
        if not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f'{name}: ratio {tuple(ratio)} must satisfy '
                             '0 < min <= max')
        if not 0 <= flip_prob <= 1:
            raise ValueError(f'{name}: flip_prob must be in [0, 1], got '
                             f'{flip_prob}')
        if self.num_views and sum(self.num_views) != sum(num_crops):
            raise ValueError(
                f'{name}: view_augments describe {sum(self.num_views)} views '
                f'({self.num_views}) but num_crops make {sum(num_crops)}')
        self.num_crops = list(num_crops)
        self.crop_sizes = list(crop_sizes)
        self.crop_scales = [tuple(float(s) for s in sc) for sc in crop_scales]
        self.ratio = (float(ratio[0]), float(ratio[1]))
        self.flip_prob = float(flip_prob)
        self._decoded_to_bgr = bool(kwargs.get('rgb_to_bgr', False))

    # ------------------------------------------------------------- inputs
    @staticmethod
    def is_encoded_batch(inputs) -> bool:
        """Whether ``inputs`` is a batch of encoded files (a non-empty list
        of :class:`EncodedImage` or of 1-D uint8 tensors)."""
        return isinstance(inputs, (list, tuple)) and len(inputs) > 0 and all(
            isinstance(x, EncodedImage) or (
                isinstance(x, torch.Tensor) and x.dim() == 1
                and x.dtype == torch.uint8) for x in inputs)

    @staticmethod
    def _bytes_and_paths(inputs: Sequence, data_samples: Optional[Sequence]
                         ) -> Tuple[List[torch.Tensor], List[str]]:
        encoded, paths = [], []
        for i, item in enumerate(inputs):
            path = None
            if isinstance(item, EncodedImage):
                path = item.get('img_path')
                item = item.encoded
            if path is None and data_samples is not None and i < len(
                    data_samples):
                path = data_samples[i].metainfo.get('img_path')
            encoded.append(item)
            paths.append(path if path is not None else f'<batch item {i}>')
        return encoded, paths

    # --------------------------------------------------------------- crops
    def sample_params(self, heights: torch.Tensor,
                      widths: torch.Tensor) -> List[CropParams]:
        """Draw the crop boxes and flips of every view.

        Args:
            heights (Tensor): ``(N,)`` image heights.
            widths (Tensor): ``(N,)`` image widths.

        Returns:
            list[tuple[Tensor, Tensor]]: per view (group after group),
            ``(N, 4)`` int64 boxes ``(top, left, h, w)`` and ``(N,)`` bool
            flips, on the CPU.
        """
        n = heights.numel()
        params = []
        for num, scale in zip(self.num_crops, self.crop_scales):
            boxes = sample_resized_crop_boxes(heights.repeat(num),
                                              widths.repeat(num), scale,
                                              self.ratio)
            flips = torch.rand(num * n) < self.flip_prob
            params += list(zip(boxes.split(n), flips.split(n)))
        return params

    def crop_views(self, images: Sequence[torch.Tensor],
                   params: Sequence[CropParams]) -> List[torch.Tensor]:
        """Cut every view of every image, one resampling per output size.

        Args:
            images (Sequence[Tensor]): ``(C, H_i, W_i)`` decoded images.
            params (Sequence[tuple[Tensor, Tensor]]): per view, boxes and
                flips as :meth:`sample_params` returns them.

        Returns:
            list[Tensor]: per view, ``(N, C, S, S)`` float32 in [0, 255].
        """
        sizes = [s for n, s in zip(self.num_crops, self.crop_sizes)
                 for _ in range(n)]
        if len(params) != len(sizes):
            raise ValueError(f'{type(self).__name__}: {len(params)} crop '
                             f'parameter sets for {len(sizes)} views')
        pixels, offsets, _, widths = pack_images(images)
        n = len(images)
        views: List[Optional[torch.Tensor]] = [None] * len(sizes)
        for size in dict.fromkeys(sizes):  # distinct sizes, in order
            idx = [v for v, s in enumerate(sizes) if s == size]
            boxes = torch.cat([params[v][0] for v in idx])
            flips = torch.cat([params[v][1] for v in idx])
            crops = resized_crops(pixels, offsets, widths,
                                  torch.arange(n).repeat(len(idx)), boxes,
                                  size, flips)
            for v, crop in zip(idx, crops.split(n)):
                views[v] = crop.contiguous()
        return views

    # ------------------------------------------------------------- forward
    def _augment_and_normalise(self, views: List[torch.Tensor],
                               training: bool) -> List[torch.Tensor]:
        out = []
        for i, x in enumerate(views):
            if training and self.num_views:
                aug = self._augment_of_view(i, len(views))
                if aug is not None and not isinstance(aug, torch.nn.Identity):
                    x = aug(x / 255.0) * 255.0
            if self._decoded_to_bgr:
                x = x[:, [2, 1, 0], ...]
            if self._enable_normalize:
                x = (x - self.mean) / self.std
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            out.append(x)
        return out

    def forward(self, data: dict, training: bool = False) -> dict:
        """Decode, crop, flip, augment (training) and normalise a batch.

        Args:
            data (dict): ``inputs`` (encoded files, see the class) and
                ``data_samples``; decoded batches are passed to
                :class:`BatchedAugmentDataPreprocessor`.
            training (bool): apply the photometric augmentations. Crops and
                flips are random in both modes, as ``MultiCrop`` in a
                pipeline.

        Returns:
            dict: ``inputs`` (list of views) and ``data_samples`` (on the
            device).
        """
        inputs = data['inputs']
        if not self.is_encoded_batch(inputs):
            return super().forward(data, training)
        data_samples = data.get('data_samples')
        encoded, paths = self._bytes_and_paths(inputs, data_samples)
        images = decode_images(encoded, paths, self.device)
        heights = torch.tensor([img.shape[1] for img in images])
        widths = torch.tensor([img.shape[2] for img in images])
        views = self.crop_views(images, self.sample_params(heights, widths))
        return dict(inputs=self._augment_and_normalise(views, training),
                    data_samples=self.cast_data(data_samples))

    def extra_repr(self) -> str:
        ratio = tuple(round(r, 4) for r in self.ratio)
        return (f'num_crops={self.num_crops}, crop_sizes={self.crop_sizes}, '
                f'crop_scales={self.crop_scales}, ratio={ratio}, '
                f'flip_prob={self.flip_prob}')
