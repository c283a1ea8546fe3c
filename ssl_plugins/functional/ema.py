"""Momentum (EMA) target networks: the update and its cosine schedule.

Convention (the papers'): ``tau`` is the weight of the **old** target value,

    xi <- tau * xi + (1 - tau) * theta            (BYOL eq. 1, DINO §3.1)

with tau = 0.99 .. 0.996 -> 1. mmengine's ``ExponentialMovingAverage`` calls
``1 - tau`` its ``momentum``; never mix the two.
"""
import math
from typing import Iterable

import torch


def cosine_momentum(base: float, step: int, total_steps: int,
                    end: float = 1.0) -> float:
    """Cosine increase of tau from ``base`` (step 0) to ``end`` (last step).

    BYOL §3.2: ``tau = 1 - (1 - tau_base) * (cos(pi k / K) + 1) / 2``; DINO
    uses the same schedule from 0.996 to 1.

    Example:
        >>> cosine_momentum(0.99, 0, 100), cosine_momentum(0.99, 100, 100)
        (0.99, 1.0)
    """
    if total_steps <= 0:
        return base
    progress = min(max(step / total_steps, 0.0), 1.0)
    return end - (end - base) * (math.cos(math.pi * progress) + 1) / 2


@torch.no_grad()
def ema_update_(target: Iterable[torch.Tensor],
                online: Iterable[torch.Tensor], tau: float) -> None:
    """In place ``target = tau * target + (1 - tau) * online``.

    One fused ``torch._foreach_lerp_`` over all tensors (no per-parameter
    Python loop): ``lerp(t, o, w) = t + w (o - t)`` with ``w = 1 - tau``.
    Floating-point tensors only; callers copy integer buffers themselves.
    """
    target, online = list(target), list(online)
    if len(target) != len(online):
        raise ValueError(f'ema_update_: {len(target)} target tensors but '
                         f'{len(online)} online tensors')
    if target:
        torch._foreach_lerp_(target, online, 1.0 - tau)
