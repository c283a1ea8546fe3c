"""SwAV swapped-prediction loss (Caron et al. 2020)."""
from __future__ import annotations

from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from .sinkhorn import sinkhorn_knopp


def swav_loss(scores: Union[Sequence[torch.Tensor], torch.Tensor],
              crops_for_assign: Sequence[int] = (0, 1),
              temperature: float = 0.1,
              epsilon: float = 0.05,
              num_iters: int = 3,
              queue_scores: Optional[Sequence[Optional[torch.Tensor]]] = None,
              distributed: bool = True) -> torch.Tensor:
    r"""Swapped prediction: codes of one view predicted from every other view.

    For every view :math:`s` in ``crops_for_assign`` the codes
    :math:`q_s = \mathrm{SinkhornKnopp}(z_s^\top C)` (no gradient) are
    predicted from every other view :math:`t \ne s` with
    :math:`p_t = \mathrm{softmax}(z_t^\top C / \tau)`:

    .. math::
        \mathcal{L} = \frac{1}{|A|} \sum_{s \in A} \frac{1}{V - 1}
            \sum_{t \ne s} \frac{1}{B} \sum_{b}
            - \sum_k q_{s,bk} \log p_{t,bk}

    (paper Eq. 1-2 extended to multi-crop, Sec. 3.2; averaged over pairs as in
    the official ``main_swav.py``). ``temperature=0.1``, ``epsilon=0.05``,
    ``num_iters=3`` and ``crops_for_assign=(0, 1)`` are the official defaults.

    Queue (paper Sec. 4, small batches): ``queue_scores[i]`` holds the scores
    of queued embeddings against the *current* prototypes for the i-th view of
    ``crops_for_assign``. They join only the Sinkhorn-Knopp problem, so the
    codes of the batch are computed with more samples; they are never
    predicted and carry no gradient.

    The batch mean is local: under data parallelism the average of the
    per-process losses (what DDP's gradient averaging optimises) equals the
    loss of one process seeing the whole batch, since the codes themselves are
    computed over the global batch by :func:`sinkhorn_knopp`.

    Args:
        scores: One ``(B, K)`` tensor of prototype scores per view (or a
            ``(V, B, K)`` tensor), in view order; scores are dot products of
            L2-normalised embeddings and L2-normalised prototypes.
        crops_for_assign: Indices of the views whose codes are computed
            (the two global crops in the paper).
        temperature: Softmax temperature of the predictions.
        epsilon: Sinkhorn-Knopp entropic regularisation.
        num_iters: Sinkhorn-Knopp iterations.
        queue_scores: Optional, one entry per view of ``crops_for_assign``:
            ``(Q, K)`` scores of queued embeddings, or ``None``.
        distributed: Compute the codes over the global batch of the default
            process group when one is initialised.

    Returns:
        Tensor: scalar loss (fp32).

    Example:
        >>> import torch.nn.functional as F
        >>> protos = F.normalize(torch.randn(30, 128), dim=1)
        >>> views = [F.normalize(torch.randn(8, 128), dim=1) @ protos.t()
        ...          for _ in range(4)]  # 2 global + 2 local crops
        >>> loss = swav_loss(views)
    """
    views = list(scores)
    num_views = len(views)
    if num_views < 2:
        raise ValueError(f'swav_loss needs at least 2 views, got {num_views}')
    shape = views[0].shape
    for i, v in enumerate(views):
        if v.dim() != 2 or v.shape != shape:
            raise ValueError('swav_loss: every view must have the same '
                             f'(batch, num_prototypes) shape; view 0 has '
                             f'{tuple(shape)}, view {i} has {tuple(v.shape)}')
    if not crops_for_assign:
        raise ValueError('swav_loss: crops_for_assign is empty')
    for c in crops_for_assign:
        if not 0 <= c < num_views:
            raise ValueError(f'swav_loss: crops_for_assign entry {c} is not '
                             f'a view index in [0, {num_views})')
    if queue_scores is not None and len(queue_scores) != len(crops_for_assign):
        raise ValueError(
            f'swav_loss: queue_scores has {len(queue_scores)} entries, '
            f'expected one per crops_for_assign ({len(crops_for_assign)})')

    codes = _codes(views, crops_for_assign, queue_scores, epsilon, num_iters,
                   distributed)
    # predictions of every view, once (fp32)
    log_p = [F.log_softmax(v.float() / temperature, dim=1) for v in views]
    loss = views[0].new_zeros((), dtype=torch.float32)
    for s, q in zip(crops_for_assign, codes):
        subloss = loss.new_zeros(())
        for t in range(num_views):
            if t != s:
                subloss = subloss - (q * log_p[t]).sum(dim=1).mean()
        loss = loss + subloss / (num_views - 1)
    return loss / len(crops_for_assign)


@torch.compiler.disable
def _codes(views: Sequence[torch.Tensor], crops_for_assign: Sequence[int],
           queue_scores: Optional[Sequence[Optional[torch.Tensor]]],
           epsilon: float, num_iters: int,
           distributed: bool) -> List[torch.Tensor]:
    """Sinkhorn-Knopp codes ``(B, K)`` of the batch for every view of
    ``crops_for_assign``, its queued scores (if any) first in each problem.

    One eager call for all views, also inside a ``torch.compile``'d step
    (``torch.compiler.disable``): :func:`sinkhorn_knopp` picks its domain
    from the scores' range on the host, so the step breaks its graph here
    once, and the predictions around it trace as whole graphs.
    """
    batch, num_protos = views[0].shape
    codes = []
    for i, s in enumerate(crops_for_assign):
        assign = views[s].detach()
        if queue_scores is not None and queue_scores[i] is not None:
            queued = queue_scores[i].detach()
            if queued.dim() != 2 or queued.shape[1] != num_protos:
                raise ValueError(
                    f'swav_loss: queue_scores[{i}] has shape '
                    f'{tuple(queued.shape)}, expected (queue_length, '
                    f'{num_protos})')
            assign = torch.cat([queued.to(assign.dtype), assign])
        # codes of this batch only: the queued rows come first
        codes.append(sinkhorn_knopp(assign, epsilon, num_iters,
                                    distributed)[assign.shape[0] - batch:])
    return codes
