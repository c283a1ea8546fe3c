"""Barlow Twins loss over the global batch (Zbontar et al. 2021, eq. 1 and
official code).

The official code (facebookresearch/barlowtwins, ``main.py``) normalises each
embedding dimension with a ``BatchNorm1d(affine=False)`` made synchronous
across GPUs, computes ``c = bn(z1).T @ bn(z2) / batch_size`` with the *global*
batch size, sums ``c`` over the GPUs and uses ``lambd = 0.0051``.

Here the batch statistics and ``C`` are summed with autograd-aware collectives
(:mod:`.distributed`), so that W processes holding N/W samples each give the
same loss on every rank and, after DDP's gradient averaging, the same gradients
as one process holding the N samples. (The official code's in-place
``all_reduce`` on ``c`` is invisible to autograd and scales the gradients by
1/W, as lightly issue 1977 reports.)
"""
from __future__ import annotations

from typing import Optional

import torch

from .distributed import (all_reduce_sum_no_grad, all_reduce_sum_with_grad,
                          get_world_size)

__all__ = [
    'global_batch_size', 'global_batch_norm', 'cross_correlation',
    'barlow_twins_loss'
]

#: Weight of the redundancy-reduction term (official code's default
#: ``--lambd``).
BARLOW_TWINS_LAMBDA = 0.0051


def global_batch_size(x: torch.Tensor) -> int:
    """Sum over ranks of ``x.shape[0]`` (``x.shape[0]`` itself, without a
    tensor, host synchronisation or graph break, in one process)."""
    if get_world_size() == 1:
        return x.shape[0]
    return int(
        all_reduce_sum_no_grad(torch.tensor(x.shape[0],
                                            device=x.device)).item())


def global_batch_norm(x: torch.Tensor,
                      eps: float = 1e-5,
                      n: Optional[int] = None) -> torch.Tensor:
    """Standardise every feature with the mean and biased variance of the
    global batch.

    Equals ``nn.BatchNorm1d(d, affine=False, eps=eps)`` in training mode (or
    ``SyncBatchNorm`` across ranks) applied to the concatenation of all ranks'
    ``x``, differentiably; running statistics are not kept (the official code
    never uses them: the normalised embeddings only feed the loss).

    Args:
        x: ``(n_local, d)`` embeddings of this rank.
        eps: added to the variance, as BatchNorm1d's default.
        n: the global batch size if already known (saves a collective).

    Returns:
        ``(n_local, d)`` normalised embeddings.
    """
    if x.dim() != 2:
        raise ValueError(
            'global_batch_norm expects (batch, dim) embeddings, got shape '
            f'{tuple(x.shape)}')
    n = global_batch_size(x) if n is None else n
    if n < 2:
        raise ValueError(
            'global_batch_norm needs at least 2 samples in the global batch, '
            f'got {n}')
    mean = all_reduce_sum_with_grad(x.sum(dim=0)) / n
    centred = x - mean
    var = all_reduce_sum_with_grad(centred.pow(2).sum(dim=0)) / n
    return centred / torch.sqrt(var + eps)


def cross_correlation(z1: torch.Tensor,
                      z2: torch.Tensor,
                      n: Optional[int] = None) -> torch.Tensor:
    """``C = z1^T z2 / N`` summed over ranks, with ``N`` the global batch size.

    Args:
        z1: ``(n_local, d)`` (already normalised) embeddings of view 1.
        z2: ``(n_local, d)`` embeddings of view 2, same samples in the same
            order.
        n: the global batch size if already known (saves a collective).

    Returns:
        ``(d, d)`` cross-correlation matrix, identical on every rank. Its
        backward assumes that every rank computes the same function of it
        (true for :func:`barlow_twins_loss`): the ranks' gradients are then
        equal and are not all-reduced again.
    """
    n = global_batch_size(z1) if n is None else n
    # Every rank computes the same loss of the same C: no backward all-reduce.
    return all_reduce_sum_with_grad(z1.T @ z2, replicated_downstream=True) / n


def barlow_twins_loss(z1: torch.Tensor,
                      z2: torch.Tensor,
                      lambd: float = BARLOW_TWINS_LAMBDA,
                      eps: float = 1e-5) -> torch.Tensor:
    r"""Barlow Twins loss of two views' embeddings over the global batch.

    .. math::
        \mathcal{L} = \sum_i (1 - C_{ii})^2
            + \lambda \sum_i \sum_{j \ne i} C_{ij}^2,
        \qquad C = \frac{1}{N} \mathrm{BN}(z_1)^\top \mathrm{BN}(z_2)

    with BN the per-feature standardisation over the global batch of N samples
    (no affine parameters).

    Args:
        z1: ``(n_local, d)`` projector outputs of view 1 (before the final BN).
        z2: ``(n_local, d)`` projector outputs of view 2.
        lambd: weight of the off-diagonal term (0.0051, official code).
        eps: BatchNorm epsilon.

    Returns:
        Scalar loss, identical on every rank.

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
