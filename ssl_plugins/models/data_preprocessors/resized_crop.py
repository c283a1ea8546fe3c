"""Random-resized crops of a whole batch of images of different sizes.

The Inception crop (Szegedy et al. 2015, §6; torchvision's
``RandomResizedCrop``), used by every SSL recipe: a box whose area is a
uniform fraction ``scale`` of the image and whose aspect ratio is
log-uniform in ``ratio`` (10 attempts, then the largest central box within
``ratio``), resized to a square.

Here the draw and the resampling are batched so that they run where the
decoded images are (the GPU at scale):

- :func:`sample_resized_crop_boxes` draws the boxes of many crops at once,
  with torchvision's rule (``RandomResizedCrop.get_params``): all attempts
  of all crops are drawn together and each crop keeps its first valid one,
  which gives the same distribution as the sequential loop.
- :func:`pack_images` concatenates the decoded images of a batch, each
  flattened, into one ``(C, P)`` buffer (no padding: images keep their
  sizes).
- :func:`resized_crops` cuts and resizes every crop of one output size with
  one gather-based bilinear resampling over that buffer: per output pixel
  the four neighbours are gathered with flat indices (image offset + row x
  width + column) and blended. Cost and memory follow the output pixels,
  not the largest image of the batch, which is why it does not use
  ``grid_sample`` / ``roi_align`` (both need one dense ``(N, C, H, W)``
  input, i.e. every image padded to the largest one).

The resampling is bilinear with half-pixel centres and no antialiasing,
sample positions clamped to the box: for a fixed box it equals cropping the
image and resizing the crop with ``torch.nn.functional.interpolate(...,
mode='bilinear', align_corners=False)``, i.e. torchvision's
``resized_crop(..., antialias=False)`` on a float image, up to float
rounding. A horizontal flip reverses the sampled columns (free).

Plain torch; imports nothing of ours.
"""
import math
from typing import Optional, Sequence, Tuple

import torch


def sample_resized_crop_boxes(heights: torch.Tensor,
                              widths: torch.Tensor,
                              scale: Tuple[float, float] = (0.08, 1.0),
                              ratio: Tuple[float, float] = (3 / 4, 4 / 3),
                              attempts: int = 10,
                              generator: Optional[torch.Generator] = None
                              ) -> torch.Tensor:
    """Draw one random-resized-crop box per entry of ``heights``/``widths``.

    torchvision's ``RandomResizedCrop.get_params`` rule, for all crops at
    once: up to ``attempts`` draws of a target area ``U(scale) * H * W`` and
    an aspect ratio ``exp(U(log ratio))``; ``w = round(sqrt(area * ratio))``,
    ``h = round(sqrt(area / ratio))``; the first draw that fits
    (``0 < w <= W`` and ``0 < h <= H``) is placed uniformly at random. If no
    draw fits, the box is the largest central one whose aspect ratio is
    clamped to ``ratio`` (the whole image when its own ratio is inside).
    Drawn in float64 on the device of ``heights`` (rounding is
    half-to-even, as Python's ``round``).

    Args:
        heights (Tensor): ``(M,)`` image heights, one per crop (an image
            with several crops appears several times).
        widths (Tensor): ``(M,)`` image widths.
        scale (tuple[float, float]): range of the box area as a fraction of
            the image area. Defaults to (0.08, 1.0).
        ratio (tuple[float, float]): range of the box aspect ratio
            (width / height). Defaults to (3/4, 4/3).
        attempts (int): draws before the central fallback. Defaults to 10.
        generator (torch.Generator, optional): random source; defaults to
            torch's global one.

    Returns:
        Tensor: ``(M, 4)`` int64 boxes ``(top, left, height, width)``.
    """
    heights = torch.as_tensor(heights)
    widths = torch.as_tensor(widths, device=heights.device)
    if heights.shape != widths.shape or heights.dim() != 1:
        raise ValueError('sample_resized_crop_boxes: heights and widths must '
                         'be 1-D of the same length, got '
                         f'{tuple(heights.shape)} and {tuple(widths.shape)}')
    if not 0 < scale[0] <= scale[1]:
        raise ValueError(f'sample_resized_crop_boxes: bad scale {scale}')
    if not 0 < ratio[0] <= ratio[1]:
        raise ValueError(f'sample_resized_crop_boxes: bad ratio {ratio}')
    dev, f64 = heights.device, torch.float64
    H, W = heights.to(f64), widths.to(f64)
    m = H.numel()
    u = torch.rand(m, attempts, 2, dtype=f64, device=dev, generator=generator)
    area = (H * W)[:, None] * (scale[0] + (scale[1] - scale[0]) * u[..., 0])
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_lo + (log_hi - log_lo) * u[..., 1])
    w = torch.round(torch.sqrt(area * aspect))
    h = torch.round(torch.sqrt(area / aspect))
    fits = (w > 0) & (w <= W[:, None]) & (h > 0) & (h <= H[:, None])
    first = fits.to(torch.uint8).argmax(dim=1, keepdim=True)  # first True
    found = fits.any(dim=1)
    w = w.gather(1, first).squeeze(1)
    h = h.gather(1, first).squeeze(1)
    # Fallback: the largest central box with its ratio clamped to `ratio`.
    image_ratio = W / H
    too_tall, too_wide = image_ratio < ratio[0], image_ratio > ratio[1]
    fb_w = torch.where(too_wide, torch.round(H * ratio[1]), W)
    fb_h = torch.where(too_tall, torch.round(W / ratio[0]), H)
    w, h = torch.where(found, w, fb_w), torch.where(found, h, fb_h)
    v = torch.rand(m, 2, dtype=f64, device=dev, generator=generator)
    top = torch.minimum(torch.floor(v[:, 0] * (H - h + 1)), H - h)
    left = torch.minimum(torch.floor(v[:, 1] * (W - w + 1)), W - w)
    top = torch.where(found, top, torch.floor((H - h) / 2))
    left = torch.where(found, left, torch.floor((W - w) / 2))
    return torch.stack([top, left, h, w], dim=1).to(torch.int64)


def pack_images(images: Sequence[torch.Tensor]
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                           torch.Tensor]:
    """Concatenate ``(C, H_i, W_i)`` images into one ``(C, P)`` buffer.

    Args:
        images (Sequence[Tensor]): images of one dtype and device with the
            same number of channels, any sizes.

    Returns:
        tuple[Tensor, Tensor, Tensor, Tensor]: ``pixels`` ``(C, sum H_i
        W_i)`` on the images' device, and the int64 CPU tensors
        ``offsets`` (start of each image in ``pixels``), ``heights`` and
        ``widths``, each ``(N,)``.
    """
    if len(images) == 0:
        raise ValueError('pack_images: no images')
    channels = {img.shape[0] for img in images}
    if len(channels) != 1 or any(img.dim() != 3 for img in images):
        raise ValueError('pack_images: images must be (C, H, W) with one C, '
                         f'got {[tuple(img.shape) for img in images]}')
    heights = torch.tensor([img.shape[1] for img in images],
                           dtype=torch.int64)
    widths = torch.tensor([img.shape[2] for img in images],
                          dtype=torch.int64)
    sizes = heights * widths
    offsets = torch.cumsum(sizes, 0) - sizes
    pixels = torch.cat([img.reshape(img.shape[0], -1) for img in images],
                       dim=1)
    return pixels, offsets, heights, widths


def _sample_positions(start: torch.Tensor, length: torch.Tensor, size: int
                      ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Bilinear taps along one axis for boxes ``[start, start + length)``.

    Half-pixel centres (``align_corners=False``): output pixel ``j`` reads
    the box coordinate ``(j + 0.5) * length / size - 0.5``, clamped to
    ``[0, length - 1]``. Returns the absolute lower and upper source
    indices and the weight of the upper one, each ``(M, size)``.
    """
    last = (length - 1)[:, None]
    pos = ((torch.arange(size, device=start.device, dtype=torch.float32)
            + 0.5)[None, :] * (length.float() / size)[:, None] - 0.5)
    pos = torch.minimum(pos.clamp(min=0), last.float())
    low = pos.floor().to(torch.int64)
    frac = pos - low
    high = torch.minimum(low + 1, last)
    return start[:, None] + low, start[:, None] + high, frac


def resized_crops(pixels: torch.Tensor,
                  offsets: torch.Tensor,
                  widths: torch.Tensor,
                  image_index: torch.Tensor,
                  boxes: torch.Tensor,
                  size: int,
                  flip: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Cut and resize many crops of packed images in one batched call.

    Args:
        pixels (Tensor): ``(C, P)`` buffer of :func:`pack_images` (any
            dtype; gathered values are converted to float32).
        offsets (Tensor): ``(N,)`` start of each image in ``pixels``.
        widths (Tensor): ``(N,)`` image widths.
        image_index (Tensor): ``(M,)`` image of each crop.
        boxes (Tensor): ``(M, 4)`` boxes ``(top, left, height, width)``
            inside their images (as from :func:`sample_resized_crop_boxes`).
        size (int): output side (square crops).
        flip (Tensor, optional): ``(M,)`` bool, flip that crop
            horizontally. Defaults to None (no flips).

    Returns:
        Tensor: ``(M, C, size, size)`` float32 crops on ``pixels``' device
        (a permuted view; call ``.contiguous()`` if needed).
    """
    dev = pixels.device
    boxes = boxes.to(dev, torch.int64)
    image_index = image_index.to(dev, torch.int64)
    top, left, h, w = boxes.unbind(dim=1)
    row_lo, row_hi, fy = _sample_positions(top, h, size)
    col_lo, col_hi, fx = _sample_positions(left, w, size)
    if flip is not None:
        f = flip.to(dev, torch.bool)[:, None]
        col_lo = torch.where(f, col_lo.flip(1), col_lo)
        col_hi = torch.where(f, col_hi.flip(1), col_hi)
        fx = torch.where(f, fx.flip(1), fx)
    base = offsets.to(dev, torch.int64)[image_index][:, None]
    stride = widths.to(dev, torch.int64)[image_index][:, None]
    row_lo, row_hi = base + row_lo * stride, base + row_hi * stride
    fx, fy = fx[None, :, None, :], fy[None, :, :, None]

    def tap(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        return pixels[:, rows[:, :, None] + cols[:, None, :]].float()

    a = tap(row_lo, col_lo)
    upper = a.add_(fx * (tap(row_lo, col_hi) - a))
    a = tap(row_hi, col_lo)
    lower = a.add_(fx * (tap(row_hi, col_hi) - a))
    out = upper.add_(fy * (lower - upper))  # (C, M, size, size)
    return out.permute(1, 0, 2, 3)
