"""Sinkhorn-Knopp equipartition of samples over prototypes (SwAV, Caron et al. 2020).

Plain torch; the only collective used is ``torch.distributed.all_reduce`` on
the default process group when one is initialised.
"""
from __future__ import annotations

import math

import torch
import torch.distributed as dist


def _dist_on(distributed: bool) -> bool:
    return (distributed and dist.is_available() and dist.is_initialized()
            and dist.get_world_size() > 1)


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

    (:math:`Q` is K x B) whose rows (prototypes) each sum to :math:`1/K` and whose columns
    (samples) each sum to :math:`1/B`, by alternately normalising rows and
    columns ``num_iters`` times; columns are finally rescaled to sum to 1.

    Exact over several processes: the prototype (row) sums are all-reduced in
    *every* iteration and ``B`` is the global batch size (sum of the local
    sizes), so the codes of each sample equal those of a single process that
    sees the whole batch (mmpretrain/mmselfsup reduce the row sums only in a
    zero-guard branch; see docs/swav.md).

    Numerics: computed in fp32 (fp64 if given fp64) whatever the input dtype,
    and in the log domain: every normalisation is a (global) ``logsumexp``
    with its maximum subtracted, so no ``exp`` overflows and no row or column
    underflows to all zeros, even for unnormalised or half-precision scores.
    Mathematically the iterates are those of the paper's algorithm. Cost: two
    all-reduces of K values per iteration (max and sum) instead of one.

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
    # Log domain, samples x prototypes (the paper's Q transposed).
    log_q = scores.detach().to(dtype) / epsilon
    log_k = math.log(log_q.shape[1])
    batch = log_q.new_tensor(float(log_q.shape[0]))  # global batch size
    if reduce:
        dist.all_reduce(batch)
    log_b = torch.log(batch)

    if num_iters == 0:  # only the initial normalisation of Q to total mass 1
        return torch.exp(log_q - _global_logsumexp(log_q.flatten(), reduce) +
                         log_b)
    for _ in range(num_iters):
        # Prototypes: each gets 1/K of the mass of the *global* batch.
        log_q = log_q - _global_logsumexp(log_q, reduce) - log_k
        # Samples: each gets 1/B (local: a sample's scores are all here).
        log_q = log_q - torch.logsumexp(log_q, dim=1, keepdim=True) - log_b
    return torch.exp(log_q + log_b)  # each sample's codes sum to 1


def _global_logsumexp(x: torch.Tensor, reduce: bool) -> torch.Tensor:
    """``log(sum(exp(x), dim=0))`` over the rows of all processes, stable."""
    shift = x.max(dim=0).values if x.shape[0] else x.new_full(
        x.shape[1:], float('-inf'))
    if reduce:
        dist.all_reduce(shift, op=dist.ReduceOp.MAX)
    shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
    total = torch.exp(x - shift).sum(dim=0)
    if reduce:
        dist.all_reduce(total)
    return torch.log(total) + shift
