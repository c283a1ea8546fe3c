"""SwAV prototypes + swapped-prediction loss."""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from ssl_plugins.registry import MODELS


@MODELS.register_module()
class SwAVHead(BaseModule):
    """Prototypes (bias-free linear, L2-normalised rows) and the SwAV loss.

    The prototypes ``C`` are the rows of ``prototypes.weight`` (K x D). As in
    the official code they are re-normalised to unit L2 norm before every
    training step (:meth:`normalize_prototypes`, called by the algorithm), so
    the scores ``z @ C.T`` of unit embeddings lie in [-1, 1] and
    ``exp(score / epsilon)`` stays finite.

    Args:
        feat_dim (int): embedding size (projector output). Defaults to 128.
        num_prototypes (int): K. Defaults to 3000 (ImageNet recipe).
        loss (dict): the loss, ``SwAVLoss`` by default.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 feat_dim: int = 128,
                 num_prototypes: int = 3000,
                 loss: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if feat_dim < 1 or num_prototypes < 1:
            raise ValueError('SwAVHead: feat_dim and num_prototypes must be '
                             f'>= 1, got {feat_dim} and {num_prototypes}')
        self.prototypes = nn.Linear(feat_dim, num_prototypes, bias=False)
        self.loss_module = MODELS.build(loss or dict(type='SwAVLoss'))

    @property
    def crops_for_assign(self) -> Sequence[int]:
        """Views whose codes are computed (from the loss)."""
        return self.loss_module.crops_for_assign

    @torch.no_grad()
    def normalize_prototypes(self) -> None:
        """Project every prototype back onto the unit sphere (in place)."""
        w = self.prototypes.weight
        w.copy_(F.normalize(w, dim=1))

    def drop_prototype_grads(self) -> None:
        """Forget the prototypes' gradient (the official freezing: after
        backward, before the optimizer step, so the optimizer skips them and
        DDP still sees them used)."""
        self.prototypes.weight.grad = None

    def scores(self, embeddings: torch.Tensor) -> torch.Tensor:
        """``(N, K)`` dot products of unit embeddings with the prototypes.

        Always fp32, also under autocast: divided by epsilon = 0.05, a bf16
        rounding of the scores (~4e-3) would shift the codes' logits by ~0.08;
        the matmul is tiny (N x D x K).
        """
        if embeddings.dim() != 2 or embeddings.shape[1] != \
                self.prototypes.in_features:
            raise ValueError(
                f'SwAVHead expects (N, {self.prototypes.in_features}) '
                f'embeddings, got {tuple(embeddings.shape)}; check feat_dim '
                'against the neck out_channels.')
        with torch.autocast(embeddings.device.type, enabled=False):
            return F.linear(embeddings.float(), self.prototypes.weight.float())

    def loss(self,
             embeddings: Sequence[torch.Tensor],
             queue: Optional[Sequence[Optional[torch.Tensor]]] = None
             ) -> torch.Tensor:
        """SwAV loss of per-view unit embeddings.

        Args:
            embeddings: one ``(B, D)`` tensor per view (L2-normalised).
            queue: optional, one ``(L, D)`` tensor of queued embeddings (or
                None) per view of ``crops_for_assign``; their scores against
                the current prototypes join the codes' computation only.
        """
        num = [e.shape[0] for e in embeddings]
        scores: List[torch.Tensor] = list(
            self.scores(torch.cat(list(embeddings))).split(num))
        queue_scores = None
        if queue is not None:
            with torch.no_grad():
                queue_scores = [
                    None if q is None else self.scores(q) for q in queue
                ]
        return self.loss_module(scores, queue_scores)
