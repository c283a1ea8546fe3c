r"""Barlow Twins' objective (Zbontar et al., ICML 2021, eq. 1, §2).

Make the cross-correlation of two views' embeddings the identity:

.. math::
    \mathcal{L} = \sum_i (1 - C_{ii})^2
        + \lambda \sum_i \sum_{j \ne i} C_{ij}^2,
    \qquad C = \frac{1}{N} \mathrm{BN}(z_1)^\top \mathrm{BN}(z_2)

with BN the affine-free per-feature standardisation over the global batch of
N samples (the projector's final BN, applied here) and ``lambda = 0.0051``
(official ``--lambd``). Multi-crop: the mean over every pair of a global view
and another view (the loss is symmetric in its two views).

Config: ``model=dict(type='BarlowTwins', neck=..., head=dict(
type='BarlowTwinsLoss', lambd=0.0051))``: the loss is the head. The function
is also ``ssl_plugins.functional.barlow_twins.barlow_twins_loss``.
"""
from typing import List

import torch
from torch import nn

from ssl_plugins.functional.global_batch_stats import (cross_correlation,
                                                       global_batch_norm,
                                                       global_batch_size)
from ssl_plugins.functional.multi_crop import unordered_global_pairs
from ssl_plugins.registry import MODELS

#: Weight of the redundancy-reduction term (official code's default
#: ``--lambd``).
BARLOW_TWINS_LAMBDA = 0.0051


def barlow_twins_loss(z1: torch.Tensor,
                      z2: torch.Tensor,
                      lambd: float = BARLOW_TWINS_LAMBDA,
                      eps: float = 1e-5) -> torch.Tensor:
    """``L`` above for two views, over the global batch; a scalar,
    identical on every rank (its gradient the one-process gradient after
    DDP's averaging; :mod:`ssl_plugins.functional.global_batch_stats`).

    Args:
        z1: ``(n_local, d)`` projector outputs of view 1 (before the final BN).
        z2: ``(n_local, d)`` projector outputs of view 2.
        lambd: weight of the off-diagonal term (0.0051, official code).
        eps: BatchNorm epsilon.

    Example:
        >>> z1, z2 = torch.randn(32, 128), torch.randn(32, 128)
        >>> barlow_twins_loss(z1, z2).shape
        torch.Size([])
    """
    if z1.shape != z2.shape or z1.dim() != 2:
        raise ValueError(
            'barlow_twins_loss expects two (batch, dim) tensors of equal '
            f'shape, got {tuple(z1.shape)} and {tuple(z2.shape)}')
    # outside the autocast block: under DDP its host synchronisation is a
    # graph break, and one inside the block made torch.compile (2.14) run
    # the whole loss eagerly
    n, d = global_batch_size(z1), z1.shape[1]
    # float32 at least: C sums N products per entry. AMP inputs may be
    # fp16/bf16, and under autocast the matmul would be cast down again.
    with torch.autocast(device_type=z1.device.type, enabled=False):
        if z1.dtype in (torch.float16, torch.bfloat16):
            z1, z2 = z1.float(), z2.float()
        # Both views standardised in one pass (one collective for the means,
        # one for the variances).
        z1, z2 = global_batch_norm(torch.cat([z1, z2], dim=1), eps,
                                   n).split(d, dim=1)
        c = cross_correlation(z1, z2, n)
        diag = torch.diagonal(c)
        on_diag = (diag - 1).pow(2).sum()
        # sum_{i != j} C_ij^2 as (all squares) - (diagonal squares): no
        # boolean mask, no gathered d^2 - d copy and its scatter in backward
        # (1.2x time and memory of the step at d = 2048 on CPU).
        off_diag = c.pow(2).sum() - diag.pow(2).sum()
    return on_diag + lambd * off_diag


@MODELS.register_module()
class BarlowTwinsLoss(nn.Module):
    """The head: :func:`barlow_twins_loss` averaged over the view pairs.

    Args:
        lambd (float): off-diagonal weight. Defaults to 0.0051.
        eps (float): BatchNorm epsilon. Defaults to 1e-5.
    """

    def __init__(self, lambd: float = BARLOW_TWINS_LAMBDA, eps: float = 1e-5):
        super().__init__()
        if lambd < 0:
            raise ValueError(
                f'BarlowTwinsLoss: lambd must be >= 0, got {lambd}')
        self.lambd = lambd
        self.eps = eps

    def loss(self, projections: List[torch.Tensor],
             num_global: int = 2) -> torch.Tensor:
        """Mean over ``unordered_global_pairs(len(projections), num_global)``
        (two views: the loss of the pair)."""
        pairs = unordered_global_pairs(len(projections), num_global)
        return sum(barlow_twins_loss(projections[a], projections[b],
                                     lambd=self.lambd, eps=self.eps)
                   for a, b in pairs) / len(pairs)
