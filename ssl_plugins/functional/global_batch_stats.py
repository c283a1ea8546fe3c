"""Statistics over the global batch (all ranks), differentiable: size,
batch normalisation and cross-correlation (Barlow Twins' ``C``).

The official Barlow Twins code (facebookresearch/barlowtwins, ``main.py``)
normalises each embedding dimension with a ``BatchNorm1d(affine=False)`` made
synchronous across GPUs and computes ``c = bn(z1).T @ bn(z2) / batch_size``
with the *global* batch size, summing ``c`` over the GPUs. Here the batch
statistics and ``C`` are summed with autograd-aware collectives
(:mod:`.distributed`), so that W processes holding N/W samples each give the
same result on every rank and, after DDP's gradient averaging, the same
gradients as one process holding the N samples. (The official code's in-place
``all_reduce`` on ``c`` is invisible to autograd and scales the gradients by
1/W, as lightly issue 1977 reports.)
"""
from __future__ import annotations

from typing import Optional

import torch

from .distributed import (all_reduce_sum_no_grad, all_reduce_sum_with_grad,
                          get_world_size)

__all__ = ['global_batch_size', 'global_batch_norm', 'cross_correlation']


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
