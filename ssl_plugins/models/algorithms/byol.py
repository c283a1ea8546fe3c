"""BYOL: Bootstrap Your Own Latent (Grill et al., NeurIPS 2020)."""
from typing import Dict, List, Optional

import torch

from ssl_plugins.registry import MODELS
from .base import BaseSelfSupervisor
from .momentum_mixin import MomentumTargetMixin


@MODELS.register_module()
class BYOL(MomentumTargetMixin, BaseSelfSupervisor):
    """Online backbone + projector + predictor regress a momentum target.

    ``loss = (byol(q1, sg(z2')) + byol(q2, sg(z1'))) / 2`` with
    ``byol = 2 - 2 cos`` (eq. 2, symmetrised as in §3.2), in [0, 4]. The paper
    sums the two terms; we log and optimise their mean so the value reads on
    the paper's [0, 4] scale (under LARS the factor 2 does not change the
    update: the trust ratio normalises it). The target (backbone+projector)
    is updated by ``xi <- tau xi + (1 - tau) theta`` once per training step,
    at the start of :meth:`loss`, i.e. right after the previous optimizer
    step; ``tau`` is the paper's momentum (weight of the old value; mmengine's
    EMA ``momentum`` would be ``1 - tau``). :class:`TargetMomentumHook`
    raises ``tau`` from ``base_momentum`` to 1 by cosine per iteration
    (§3.2); without it (a plain training loop) ``tau`` stays at its base.

    Args:
        backbone (dict): backbone config.
        neck (dict): projector (``MLPNeck``: 4096 hidden, 256 out).
        head (dict): ``LatentPredictHead`` with the predictor and ``BYOLLoss``.
        base_momentum (float): tau_base; 0.99 for short runs, 0.996 for the
            ImageNet recipe (§3.3). Defaults to 0.99.
        **kwargs: passed to :class:`BaseSelfSupervisor`.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 base_momentum: float = 0.99,
                 **kwargs):
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        self._build_momentum_target(base_momentum)

    def loss(self, views: List[torch.Tensor],
             data_samples: Optional[list] = None) -> Dict[str, torch.Tensor]:
        """Symmetric BYOL loss of two views."""
        self._check_num_views(views, 2)
        self.update_target()
        v1, v2 = views[0], views[1]
        z1 = self.neck(self.backbone(v1))
        z2 = self.neck(self.backbone(v2))
        with torch.no_grad():
            t1 = self.target.neck(self.target.backbone(v1))
            t2 = self.target.neck(self.target.backbone(v2))
        loss = (self.head.loss(z1, t2) + self.head.loss(z2, t1)) / 2
        return dict(loss=loss)
