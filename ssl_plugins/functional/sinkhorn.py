"""Sinkhorn-Knopp equipartition of samples over prototypes (SwAV).

Caron et al. 2020, "Unsupervised Learning of Visual Features by Contrasting
Cluster Assignments".

Plain torch; the only collective used is ``torch.distributed.all_reduce`` on
the default process group when one is initialised.
"""
from __future__ import annotations

import math

import torch
import torch.distributed as dist

from .distributed import get_world_size


def _dist_on(distributed: bool) -> bool:
    return distributed and get_world_size() > 1


@torch.no_grad()
def sinkhorn_knopp(scores: torch.Tensor,
                   epsilon: float = 0.05,
                   num_iters: int = 3,
                   distributed: bool = True) -> torch.Tensor:
    r"""Soft codes ``Q`` of a batch by Sinkhorn-Knopp, over the global batch.

    SwAV (Caron et al. 2020, Sec. 3.1 and Alg. 1 / official
    ``distributed_sinkhorn``) looks for the codes

    .. math::
        Q^* = \mathrm{Diag}(u)\,\exp\!\left(\frac{C^\top Z}{\varepsilon}\right)
              \mathrm{Diag}(v)

    (:math:`Q` is K x B) whose rows (prototypes) each sum to :math:`1/K` and
    whose columns (samples) each sum to :math:`1/B`, by alternately
    normalising rows and columns ``num_iters`` times; columns are finally
    rescaled to sum to 1.

    Exact over several processes: the prototype (row) sums are all-reduced in
    *every* iteration and ``B`` is the global batch size (sum of the local
    sizes), so the codes of each sample equal those of a single process that
    sees the whole batch (mmpretrain/mmselfsup reduce the row sums only in a
    zero-guard branch; see docs/swav.md).

    Numerics: computed in fp32 (fp64 if given fp64) whatever the input dtype.
    Each prototype's global maximum score is subtracted before ``exp``: this
    changes nothing mathematically (the first row normalisation cancels any
    per-row factor) but ``exp`` cannot overflow. When some prototype's scores
    span more than ``60`` after division by epsilon (never the case for
    SwAV's unit embeddings and prototypes: at most ``2 / 0.05 = 40``), entries
    could underflow to a zero column, so the same iterates are computed in the
    log domain instead (stable for any finite scores, ~10x slower on CPU).
    Collectives: one max all-reduce of 2K values, one sum of 2 values, then
    one sum of K values per iteration (two in the log domain).

    Defaults ``epsilon=0.05``, ``num_iters=3``: paper Sec. 4 / official
    ``main_swav.py`` (``--epsilon 0.05 --sinkhorn_iterations 3``).

    Args:
        scores (Tensor): ``(B_local, K)`` scores of this process's samples
            (and queued samples, if any) against the K prototypes; for SwAV the
            dot products of L2-normalised embeddings and prototypes.
        epsilon (float): Entropic regularisation; the scores are divided by it.
        num_iters (int): Number of row + column normalisation rounds.
        distributed (bool): Reduce over the default process group when one is
            initialised (``False`` computes on the local rows only).

    Returns:
        Tensor: ``(B_local, K)`` codes, each row a probability vector, no grad.

    Example:
        >>> import torch.nn.functional as F
        >>> z = F.normalize(torch.randn(8, 128), dim=1)   # embeddings
        >>> c = F.normalize(torch.randn(30, 128), dim=1)  # prototypes
        >>> q = sinkhorn_knopp(z @ c.t())
        >>> torch.allclose(q.sum(dim=1), torch.ones(8))   # full assignments
        True
    """
    if scores.dim() != 2:
        raise ValueError('sinkhorn_knopp expects scores of shape (batch, '
                         f'num_prototypes), got shape {tuple(scores.shape)}')
    if epsilon <= 0:
        raise ValueError(f'sinkhorn_knopp: epsilon must be > 0, got {epsilon}')
    if num_iters < 0:
        raise ValueError(
            f'sinkhorn_knopp: num_iters must be >= 0, got {num_iters}')
    reduce = _dist_on(distributed)
    dtype = torch.promote_types(scores.dtype, torch.float32)
    logits = scores.detach().to(dtype) / epsilon
    num_protos = logits.shape[1]
    # Per-prototype max and -min over the global batch, in one collective.
    if logits.shape[0]:
        low, high = torch.aminmax(logits, dim=0)
        stats = torch.cat([high, -low])
    else:
        stats = logits.new_full((2 * num_protos, ), float('-inf'))
    if reduce:
        dist.all_reduce(stats, op=dist.ReduceOp.MAX)
    # (num_iters=0 has no row normalisation to cancel the per-row shift)
    linear = num_iters > 0 and bool(
        (stats[:num_protos] + stats[num_protos:]).max() <= _LINEAR_SAFE_RANGE)
    if linear:
        # Q is K x B as in the paper, scaled by a per-prototype constant.
        q = logits.sub_(stats[:num_protos]).exp_().t()
        # Total mass and global batch size in one collective.
        totals = torch.stack([q.sum(), q.new_tensor(float(q.shape[1]))])
        if reduce:
            dist.all_reduce(totals)
        q /= totals[0]
        batch = totals[1]
        for _ in range(num_iters):
            # Rows: every prototype gets 1/K of the global batch's mass.
            row_sums = q.sum(dim=1, keepdim=True)
            if reduce:
                dist.all_reduce(row_sums)
            q /= row_sums
            q /= num_protos
            # Columns: every sample 1/B (local: its scores are all here).
            q /= q.sum(dim=0, keepdim=True)
            q /= batch
        return (q * batch).t()  # columns sum to 1: assignments

    # Log domain: the same iterates, every normalisation a logsumexp.
    q = logits.t()
    batch = q.new_tensor(float(q.shape[1]))
    if reduce:
        dist.all_reduce(batch)
    log_b, log_k = torch.log(batch), math.log(num_protos)
    if num_iters == 0:
        total = _global_logsumexp(q.flatten()[:, None], reduce)
        return torch.exp(q - total + log_b).t()
    for _ in range(num_iters):
        q = q - _global_logsumexp(q.t(), reduce)[:, None] - log_k
        q = q - torch.logsumexp(q, dim=0, keepdim=True) - log_b
    return torch.exp(q + log_b).t()


# exp(-60) / (B K) stays far above fp32's smallest normal (~exp(-87)).
_LINEAR_SAFE_RANGE = 60.0


def _col_max(x: torch.Tensor) -> torch.Tensor:
    """Column maxima, ``-inf`` for an empty batch."""
    if x.shape[0] == 0:
        return x.new_full(x.shape[1:], float('-inf'))
    return x.max(dim=0).values


def _global_logsumexp(x: torch.Tensor, reduce: bool) -> torch.Tensor:
    """``log(sum(exp(x), dim=0))`` over the rows of all processes, stable."""
    shift = _col_max(x)
    if reduce:
        dist.all_reduce(shift, op=dist.ReduceOp.MAX)
    shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
    total = torch.exp(x - shift).sum(dim=0)
    if reduce:
        dist.all_reduce(total)
    return torch.log(total) + shift
