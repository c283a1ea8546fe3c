r"""SwAV's objective (Caron et al., NeurIPS 2020): swapped prediction.

For every view :math:`s` in ``crops_for_assign`` the codes
:math:`q_s = \mathrm{SinkhornKnopp}(z_s^\top C)` (§3.1, no gradient, over the
global batch) are predicted from every other view :math:`t \ne s` by
:math:`p_t = \mathrm{softmax}(z_t^\top C / \tau)` (Eq. 1-2, multi-crop §3.2,
averaged over pairs as the official ``main_swav.py``):

.. math::
    \mathcal{L} = \frac{1}{|A|} \sum_{s \in A} \frac{1}{V - 1}
        \sum_{t \ne s} \frac{1}{B} \sum_b - \sum_k q_{s,bk} \log p_{t,bk}

Queue (§4, small batches): queued embeddings, scored against the current
prototypes, join only the Sinkhorn-Knopp problem of the codes.

Config: ``head=dict(type='SwAVHead', feat_dim=128, num_prototypes=3000,
loss=dict(type='SwAVLoss', crops_for_assign=(0, 1), temperature=0.1,
epsilon=0.05, num_iters=3))`` (official defaults). ``SwAVLoss`` names
:func:`swav_loss` (also ``ssl_plugins.functional.swav.swav_loss``).
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from ssl_plugins.functional.sinkhorn import sinkhorn_knopp
from ssl_plugins.registry import MODELS
from ..utils.loss_function import build_loss_function
from ..utils.swav_queue import SwAVQueue


def swav_loss(scores: Union[Sequence[torch.Tensor], torch.Tensor],
              crops_for_assign: Sequence[int] = (0, 1),
              temperature: float = 0.1,
              epsilon: float = 0.05,
              num_iters: int = 3,
              queue_scores: Optional[Sequence[Optional[torch.Tensor]]] = None,
              distributed: bool = True) -> torch.Tensor:
    """The loss above from one ``(B, K)`` score tensor per view (or
    ``(V, B, K)``; unit embeddings against unit prototypes), fp32 scalar.

    ``temperature``: tau; ``epsilon``, ``num_iters``: Sinkhorn-Knopp's.
    ``queue_scores``: optional, per view of ``crops_for_assign``, ``(Q, K)``
    queued scores (or None), prepended to the codes' problem only (never
    predicted, no gradient). ``distributed``: codes over the global batch;
    the batch mean is local, so DDP's average of the ranks' losses is the
    one-process loss.
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


# Config alias: loss=dict(type='SwAVLoss', ...) names swav_loss, whose
# keyword arguments the head binds (no wrapper class).
MODELS.register_module(name='SwAVLoss', module=swav_loss)


@MODELS.register_module()
class SwAVHead(BaseModule):
    """Prototypes ``C`` (rows of ``prototypes.weight``, K x D), the queue
    (``queue``, :class:`SwAVQueue`) and :func:`swav_loss`. As the official
    code, a training-mode :meth:`loss` first re-normalises the prototypes
    (right after the previous optimizer step): scores lie in [-1, 1].

    Args:
        feat_dim (int): embedding size (projector output). Defaults to 128.
        num_prototypes (int): K. Defaults to 3000 (ImageNet recipe).
        loss (dict): ``SwAVLoss`` and the keyword arguments of
            :func:`swav_loss` (``crops_for_assign`` defaults to (0, 1)).
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self, feat_dim: int = 128, num_prototypes: int = 3000,
                 loss: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if feat_dim < 1 or num_prototypes < 1:
            raise ValueError('SwAVHead: feat_dim and num_prototypes must be '
                             f'>= 1, got {feat_dim} and {num_prototypes}')
        self.prototypes = nn.Linear(feat_dim, num_prototypes, bias=False)
        self.loss_fn = build_loss_function(
            {'type': 'SwAVLoss', 'crops_for_assign': (0, 1), **(loss or {})})
        self.crops_for_assign = tuple(
            int(c) for c in self.loss_fn.keywords['crops_for_assign'])
        if not self.crops_for_assign:
            raise ValueError('SwAVHead: crops_for_assign must not be empty')
        self.queue = SwAVQueue(len(self.crops_for_assign), feat_dim)

    @torch.no_grad()
    def normalize_prototypes(self) -> None:
        """Project every prototype back onto the unit sphere (in place)."""
        w = self.prototypes.weight
        w.copy_(F.normalize(w, dim=1))

    def drop_prototype_grads(self) -> None:
        """Forget the prototypes' gradient (the official freezing: after
        backward, before the step; DDP still sees them used)."""
        self.prototypes.weight.grad = None

    def scores(self, embeddings: torch.Tensor) -> torch.Tensor:
        """``(N, K)`` scores, fp32 also under autocast (bf16 rounding,
        divided by epsilon, would shift the codes)."""
        if embeddings.dim() != 2 or embeddings.shape[1] != \
                self.prototypes.in_features:
            raise ValueError(
                f'SwAVHead expects (N, {self.prototypes.in_features}) '
                f'embeddings, got {tuple(embeddings.shape)}; check feat_dim '
                'against the neck out_channels.')
        with torch.autocast(embeddings.device.type, enabled=False):
            return F.linear(embeddings.float(), self.prototypes.weight.float())

    def loss(self, embeddings: Sequence[torch.Tensor]) -> torch.Tensor:
        """SwAV loss of one ``(B, D)`` unit embedding per view; in training
        mode with a started queue, the assigned views' embeddings are pushed
        and the queue (once full) joins the codes."""
        assign = self.crops_for_assign
        if max(assign) >= len(embeddings):
            raise ValueError(
                f'SwAV: crops_for_assign {assign} refers to view '
                f'{max(assign)} but the batch has {len(embeddings)} views')
        if self.training:
            self.normalize_prototypes()
        queued = None
        if self.training and self.queue.state is not None:
            queued = self.queue.push([embeddings[c] for c in assign])
        num = [e.shape[0] for e in embeddings]
        scores: List[torch.Tensor] = list(
            self.scores(torch.cat(list(embeddings))).split(num))
        queue_scores = None
        if queued is not None:
            with torch.no_grad():
                queue_scores = [self.scores(q) for q in queued]
        return self.loss_fn(scores, queue_scores=queue_scores)
