"""One LARS step as in the official Barlow Twins code
(facebookresearch/barlowtwins ``main.py``).

For every parameter ``w`` with gradient ``g`` (You et al. 2017, with the
official code's choices):

    u = g + wd * w                 (weight decay, unless excluded)
    u = u * eta * ||w|| / ||u||    (trust ratio; 1 if a norm is 0;
                                    unless excluded)
    mu = momentum * mu + u ;  w = w - lr * mu

Biases and BatchNorm parameters are excluded from both the weight decay and the
adaptation (official: ``weight_decay_filter`` and ``lars_adaptation_filter``
on ``p.ndim == 1``). The learning rate is outside the momentum buffer, so a
schedule changes the step at once. All parameters of a group are handled by
``torch._foreach_*`` kernels with no host synchronisation (mmpretrain's LARS
calls ``.item()`` twice per parameter).
"""
from __future__ import annotations

from typing import List

import torch

__all__ = ['lars_update_']


@torch.no_grad()
def lars_update_(params: List[torch.Tensor],
                 grads: List[torch.Tensor],
                 momentum_buffers: List[torch.Tensor],
                 lr: float,
                 momentum: float = 0.9,
                 weight_decay: float = 0.0,
                 eta: float = 0.001,
                 adapt: bool = True) -> None:
    """Apply one LARS step in place to ``params`` and ``momentum_buffers``.

    Args:
        params: parameters of one group.
        grads: their gradients (same order).
        momentum_buffers: one zero-initialised buffer per parameter.
        lr: learning rate of the group.
        momentum: momentum factor (0.9 in the official code).
        weight_decay: L2 weight decay (0 for excluded groups).
        eta: trust coefficient (0.001).
        adapt: apply the trust ratio (False for biases and BN parameters).
    """
    if not params:
        return
    updates = list(grads)
    if weight_decay != 0:
        updates = torch._foreach_add(updates, params, alpha=weight_decay)
    if adapt:
        w_norm = torch.stack(torch._foreach_norm(params))
        u_norm = torch.stack(torch._foreach_norm(updates))
        ones = torch.ones_like(w_norm)
        ratio = torch.where((w_norm > 0) & (u_norm > 0), eta * w_norm / u_norm,
                            ones)
        updates = torch._foreach_mul(updates,
                                     list(ratio.to(updates[0].dtype).unbind()))
    torch._foreach_mul_(momentum_buffers, momentum)
    torch._foreach_add_(momentum_buffers, updates)
    torch._foreach_add_(params, momentum_buffers, alpha=-lr)
