"""Autograd-aware collectives, no-ops when ``torch.distributed`` is not
initialised.

Gradient convention (the one DDP assumes). Under DDP every rank backpropagates
its own loss ``L_r`` and DDP *averages* the parameter gradients, i.e. training
minimises ``L = (1/W) sum_r L_r``. Autograd on rank ``r`` must therefore return
``d(sum_r' L_r')/d x_r`` for a local tensor ``x_r``: the contributions of *all*
ranks' losses to the local tensor, summed. Both collectives below do exactly
that in backward (an all-reduce-sum of the incoming gradients), so a loss that
is identical on every rank (Barlow Twins' global cross-correlation) gets its
exact single-process gradient after DDP's averaging.

The peers' bug this avoids (lightly #1977 / PR #1980, official Barlow Twins):
a plain in-place ``dist.all_reduce`` on a non-leaf tensor is invisible to
autograd, its backward is the identity, and the parameter gradients come out
divided by the world size after DDP's averaging.

Only ``all_reduce`` is used (in forward and backward), so everything works on
gloo (CPU), which has no ``reduce_scatter``.
"""
from __future__ import annotations

from typing import Union

import torch
import torch.distributed as dist

__all__ = [
    'is_dist_initialized',
    'get_world_size',
    'get_rank',
    'all_reduce_sum_with_grad',
    'all_gather_with_grad',
    'all_reduce_sum_no_grad',
    'global_batch_weight',
]


def is_dist_initialized() -> bool:
    """Whether a default process group exists."""
    return dist.is_available() and dist.is_initialized()


def get_world_size() -> int:
    """Number of processes in the default group (1 when not distributed)."""
    return dist.get_world_size() if is_dist_initialized() else 1


def get_rank() -> int:
    """Rank of this process in the default group (0 when not distributed)."""
    return dist.get_rank() if is_dist_initialized() else 0


class _AllReduceSum(torch.autograd.Function):
    """y = sum_r x_r on every rank; dL/dx_r = sum_r' dL_r'/dy (see module doc).

    With ``replicated``, every rank's incoming gradient is known to be the
    same, so the sum is ``W * grad`` and the backward collective is skipped.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, replicated: bool) -> torch.Tensor:
        ctx.replicated = replicated
        y = x.clone()
        dist.all_reduce(y, op=dist.ReduceOp.SUM)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        if ctx.replicated:
            return grad * dist.get_world_size(), None
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad, None


class _AllGather(torch.autograd.Function):
    """y = cat_r x_r (dim 0) on every rank;
    dL/dx_r = (sum_r' dL_r'/dy)[slice r]."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        sizes = torch.tensor([x.shape[0]], device=x.device)
        all_sizes = [
            torch.zeros_like(sizes) for _ in range(dist.get_world_size())
        ]
        dist.all_gather(all_sizes, sizes)
        all_sizes = [int(s.item()) for s in all_sizes]
        # all_gather needs equal shapes: pad to the largest local batch.
        padded = x.new_zeros((max(all_sizes), ) + tuple(x.shape[1:]))
        padded[:x.shape[0]] = x
        gathered = [torch.empty_like(padded) for _ in all_sizes]
        dist.all_gather(gathered, padded)
        ctx.sizes = all_sizes
        ctx.rank = dist.get_rank()
        return torch.cat([g[:n] for g, n in zip(gathered, all_sizes)], dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = sum(ctx.sizes[:ctx.rank])
        return grad[start:start + ctx.sizes[ctx.rank]]


def all_reduce_sum_with_grad(x: torch.Tensor,
                             replicated_downstream: bool = False
                             ) -> torch.Tensor:
    """Sum of ``x`` over all ranks, differentiable (DDP gradient convention).

    Args:
        x: a tensor of the same shape on every rank.
        replicated_downstream: promise that every rank computes the same
            function of the result (e.g. Barlow Twins' loss of the global
            cross-correlation), so the gradients reaching it are identical
            and backward returns ``W * grad`` without a collective (for a
            d x d matrix, that saves an all-reduce of d^2 values per step).
            Wrong gradients if the promise does not hold.

    Returns:
        ``sum_r x_r`` (a new tensor); ``x`` itself when not distributed.
    """
    if get_world_size() == 1:
        return x
    return _AllReduceSum.apply(x, replicated_downstream)


def all_gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenation along dim 0 of ``x`` from all ranks, in rank order,
    differentiable.

    Local batch sizes may differ between ranks (trailing dims must agree).

    Args:
        x: ``(n_r, ...)`` local tensor.

    Returns:
        ``(sum_r n_r, ...)``; ``x`` itself when not distributed.
    """
    if get_world_size() == 1:
        return x
    return _AllGather.apply(x)


@torch.no_grad()
def all_reduce_sum_no_grad(x: torch.Tensor) -> torch.Tensor:
    """Sum of ``x`` over all ranks as a new tensor, outside autograd
    (counts, statistics)."""
    if get_world_size() == 1:
        return x.clone()
    y = x.detach().clone()
    dist.all_reduce(y, op=dist.ReduceOp.SUM)
    return y


@torch.no_grad()
def global_batch_weight(local_count: int,
                        device=None) -> Union[torch.Tensor, float]:
    """``n_r * W / sum_r n_r``: the factor that turns this rank's per-sample
    mean into its share of the global-batch mean under DDP.

    DDP averages the ranks' gradients with equal weights, so per-rank means
    of ``n_r`` samples give ``(1/W) sum_r mean_r``, not the mean over all
    ``N = sum_r n_r`` samples, when the ranks hold different numbers of
    samples (a custom sampler, the last batch of an unpadded epoch).
    Multiplying each rank's mean by this factor makes DDP's average
    ``sum_r (n_r / N) mean_r``, the global-batch mean. 1.0 (a float) without
    a process group; exactly 1.0 when the ranks hold equal batches. One
    all-reduce of a scalar, no host synchronisation.
    """
    world = get_world_size()
    if world == 1:
        return 1.0
    n = torch.tensor(float(local_count), device=device)
    return n * world / all_reduce_sum_no_grad(n)
