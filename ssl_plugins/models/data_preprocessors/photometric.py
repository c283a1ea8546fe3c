"""Photometric augmentations on a batch, with one random draw per sample.

The per-image transforms of the SSL recipes (BYOL Table 6, SimCLR App. A,
SwAV/DINO code): colour jitter (brightness, contrast, saturation, hue in a
random order, applied with probability p), greyscale, Gaussian blur and
solarisation. Here they act on a float batch ``(N, 3, H, W)`` in [0, 1], RGB,
each sample with its own parameters, so that they run where the batch is
(GPU) and data-loader workers only decode, crop and flip.

For fixed parameters each op equals torchvision's tensor op on that image
(``torchvision.transforms.v2.functional``: ``adjust_brightness``,
``adjust_contrast``, ``adjust_saturation``, ``adjust_hue``,
``rgb_to_grayscale``, ``gaussian_blur``, ``solarize``); the parameters are
drawn from the same distributions as torchvision's / mmpretrain's
``ColorJitter`` (uniform factors, uniformly random order of the four ops).

Plain torch; imports nothing of ours.
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

#: ITU-R 601-2 luma weights of R, G, B (torchvision's rgb_to_grayscale).
LUMA = (0.2989, 0.587, 0.114)


def _per_sample(f: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return f.to(x.dtype).view(-1, 1, 1, 1)


def _blend(a: torch.Tensor, b, ratio: torch.Tensor) -> torch.Tensor:
    r = _per_sample(ratio, a)
    return (r * a + (1 - r) * b).clamp_(0, 1)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luma of an RGB batch, repeated to 3 channels."""
    r, g, b = x.unbind(dim=1)
    y = LUMA[0] * r + LUMA[1] * g + LUMA[2] * b
    return y.unsqueeze(1).expand_as(x)


def adjust_brightness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``clamp(f * x)`` per sample."""
    return _blend(x, 0.0, factor)


def adjust_contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend with the sample's mean grey level: ``f x + (1 - f) mean``."""
    mean = grayscale(x)[:, :1].mean(dim=(1, 2, 3), keepdim=True)
    return _blend(x, mean, factor)


def adjust_saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend with the sample's greyscale image."""
    return _blend(x, grayscale(x), factor)


def adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate the hue by ``shift`` (in turns, [-0.5, 0.5]) per sample.

    RGB -> HSV (hue in turns), ``h <- (h + shift) mod 1``, HSV -> RGB with the
    closed form ``c_n = v (1 - s clamp(min(k_n, 4 - k_n), 0, 1))``,
    ``k_n = (n + 6h) mod 6`` for n = 5, 3, 1 (R, G, B): no per-sector table.
    """
    r, g, b = x.unbind(dim=1)
    maxc, _ = x.max(dim=1)
    minc, _ = x.min(dim=1)
    delta = maxc - minc
    safe_delta = torch.where(delta > 0, delta, torch.ones_like(delta))
    h = torch.where(maxc == r, (g - b) / safe_delta,
                    torch.where(maxc == g, 2.0 + (b - r) / safe_delta,
                                4.0 + (r - g) / safe_delta))
    h = torch.remainder(h / 6.0 + _per_sample(shift, x)[:, 0], 1.0)
    s = delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc))
    n = torch.tensor([5.0, 3.0, 1.0], device=x.device,
                     dtype=x.dtype).view(1, 3, 1, 1)
    k = torch.remainder(n + 6.0 * h.unsqueeze(1), 6.0)
    ramp = torch.minimum(k, 4.0 - k).clamp_(0, 1)
    return maxc.unsqueeze(1) * (1 - s.unsqueeze(1) * ramp)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor,
                  kernel_size: int) -> torch.Tensor:
    """Separable Gaussian blur, one ``sigma`` per sample, reflect padding.

    Kernel ``exp(-t^2 / (2 sigma^2))`` on ``t = -(k-1)/2 .. (k-1)/2``,
    normalised (torchvision's ``gaussian_blur``).
    """
    if kernel_size % 2 != 1 or kernel_size < 1:
        raise ValueError(f'gaussian_blur: kernel_size must be a positive odd '
                         f'integer, got {kernel_size}')
    n, c, h, w = x.shape
    half = (kernel_size - 1) * 0.5
    t = torch.linspace(-half, half, kernel_size, device=x.device,
                       dtype=x.dtype)
    k = torch.exp(-0.5 * (t / _per_sample(sigma, x).view(-1, 1)).pow(2))
    k = (k / k.sum(dim=1, keepdim=True)).repeat_interleave(c, dim=0)
    pad = kernel_size // 2
    y = x.reshape(1, n * c, h, w)
    y = F.pad(y, [pad, pad, pad, pad], mode='reflect')
    y = F.conv2d(y, k.view(n * c, 1, 1, kernel_size), groups=n * c)
    y = F.conv2d(y, k.view(n * c, 1, kernel_size, 1), groups=n * c)
    return y.view(n, c, h, w)


def solarize(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Invert the pixels ``>= threshold``: ``1 - x`` there."""
    return torch.where(x >= threshold, 1.0 - x, x)


_JITTER_OPS = (adjust_brightness, adjust_contrast, adjust_saturation,
               adjust_hue)
_JITTER_KEYS = ('brightness', 'contrast', 'saturation', 'hue')


def jitter_range(name: str, value: float) -> Tuple[float, float]:
    """torchvision/mmpretrain ``ColorJitter`` range of one strength value."""
    if name == 'hue':
        if not 0 <= value <= 0.5:
            raise ValueError(f'hue jitter must be in [0, 0.5], got {value}')
        return (-value, value)
    if value < 0:
        raise ValueError(f'{name} jitter must be >= 0, got {value}')
    return (max(0.0, 1 - value), 1 + value)


def sample_photometric_params(
        n: int,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.2,
        hue: float = 0.1,
        jitter_prob: float = 0.8,
        grayscale_prob: float = 0.2,
        blur_prob: float = 1.0,
        blur_sigma: Tuple[float, float] = (0.1, 2.0),
        solarize_prob: float = 0.0,
        device=None,
        generator: Optional[torch.Generator] = None
) -> Dict[str, torch.Tensor]:
    """Draw one set of parameters per sample (BYOL's view-1 defaults).

    Returns a dict of ``(n,)`` tensors: ``jitter`` / ``grayscale`` / ``blur`` /
    ``solarize`` (bool: apply or not), the four jitter factors (identity
    values where jitter is off), ``order`` ``(n, 4)`` (a uniform random
    permutation of the four jitter ops per sample) and ``sigma``.
    """
    def u(lo, hi):
        return lo + (hi - lo) * torch.rand(n, device=device,
                                           generator=generator)

    def bern(p):
        return torch.rand(n, device=device, generator=generator) < p

    params = dict(jitter=bern(jitter_prob))
    identity = dict(brightness=1.0, contrast=1.0, saturation=1.0, hue=0.0)
    for key, strength in zip(_JITTER_KEYS,
                             (brightness, contrast, saturation, hue)):
        lo, hi = jitter_range(key, strength)
        params[key] = torch.where(params['jitter'], u(lo, hi),
                                  torch.full((n, ), identity[key],
                                             device=device))
    params['order'] = torch.rand(n, 4, device=device,
                                 generator=generator).argsort(dim=1)
    params['grayscale'] = bern(grayscale_prob)
    params['blur'] = bern(blur_prob)
    params['sigma'] = u(*blur_sigma)
    params['solarize'] = bern(solarize_prob)
    return params


def apply_photometric(x: torch.Tensor, params: Dict[str, torch.Tensor],
                      kernel_size: int, solarize_threshold: float = 0.5,
                      masked: Optional[bool] = None) -> torch.Tensor:
    """Apply :func:`sample_photometric_params`' draws to ``x`` (N, 3, H, W).

    Order, as BYOL/SimCLR: colour jitter (its four ops in each sample's own
    order), greyscale, blur, solarize. Samples that do not draw an op are
    left unchanged by it.

    Two equivalent strategies: ``masked=False`` runs each op on the subset of
    samples that draw it (least arithmetic: the CPU default); ``masked=True``
    runs it on the whole batch and keeps the result where drawn
    (``torch.where``), which needs no data-dependent shapes, hence no
    host-device synchronisation (the CUDA default).
    """
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f'apply_photometric expects (N, 3, H, W) RGB in '
                         f'[0, 1], got shape {tuple(x.shape)}')
    if masked is None:
        masked = x.is_cuda

    def apply(x, draw, fn):
        if masked:
            return torch.where(draw.view(-1, 1, 1, 1), fn(x, slice(None)), x)
        sel = draw.nonzero(as_tuple=True)[0]
        if sel.numel():
            x = x.clone() if x is orig else x
            x[sel] = fn(x[sel], sel)
        return x

    orig = x
    jitter = params['jitter']
    for pos in range(4):
        for j, (key, op) in enumerate(zip(_JITTER_KEYS, _JITTER_OPS)):
            x = apply(x, jitter & (params['order'][:, pos] == j),
                      lambda v, idx, op=op, key=key: op(v, params[key][idx]))
    x = apply(x, params['grayscale'], lambda v, idx: grayscale(v))
    x = apply(x, params['blur'], lambda v, idx: gaussian_blur(
        v, params['sigma'][idx], kernel_size))
    x = apply(x, params['solarize'],
              lambda v, idx: solarize(v, solarize_threshold))
    return x
