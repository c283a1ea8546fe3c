"""BYOL: Bootstrap Your Own Latent (Grill et al., NeurIPS 2020)."""
from typing import Dict, List, Optional

import torch

from ssl_plugins.functional.distributed import global_batch_weight
from ssl_plugins.registry import MODELS
from .base import MultiCropSelfSupervisor
from .momentum_mixin import MomentumTargetMixin


@MODELS.register_module()
class BYOL(MomentumTargetMixin, MultiCropSelfSupervisor):
    """Online backbone + projector + predictor regress a momentum target.

    ``loss = (byol(q1, sg(z2')) + byol(q2, sg(z1'))) / 2`` with
    ``byol = 2 - 2 cos`` (eq. 2, symmetrised as in §3.2), in [0, 4]; the
    objective (equation, function, config name ``BYOLLoss``) is
    ``models/losses/byol_loss.py``. The target (backbone+projector)
    is updated by ``xi <- tau xi + (1 - tau) theta`` once per training step,
    at the start of :meth:`loss`, i.e. right after the previous optimizer
    step; ``tau`` is the paper's momentum (weight of the old value; mmengine's
    EMA ``momentum`` would be ``1 - tau``). :class:`TargetMomentumHook`
    raises ``tau`` from ``base_momentum`` to 1 by cosine per iteration
    (§3.2); without it (a plain training loop) ``tau`` stays at its base.

    Multi-crop (2 global + N local views, global first): every view's
    prediction regresses the target projection of every global view other
    than itself, and the loss is the mean over those ``2 (V - 1)`` pairs
    (DINO's pairing, averaged by the head: ``LatentPredictHead.loss``); the
    target sees the global views only. With two views this is the loss
    above.

    Args:
        backbone (dict): backbone config.
        neck (dict): projector (``MLPNeck``: 4096 hidden, 256 out).
        head (dict): ``LatentPredictHead`` with the predictor and ``BYOLLoss``.
        base_momentum (float): tau_base; 0.99 for short runs, 0.996 for the
            ImageNet recipe (§3.3). Defaults to 0.99.
        **kwargs: passed to :class:`MultiCropSelfSupervisor`
            (``num_global_views``, ``bn_stats_from_global_views``).
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
        """Symmetric BYOL loss of two views, or of a multi-crop batch."""
        num_global = self.num_global_views
        self._check_num_views(views, num_global)
        self.update_target()
        _, predictions = self.project_views(views, self.head.predictor)
        with torch.no_grad():
            targets = [self.target.neck(self.target.backbone(v))
                       for v in views[:num_global]]
        loss = self.head.loss(predictions, targets)
        # the global-batch mean under DDP, also with unequal rank batches
        return dict(loss=loss * global_batch_weight(len(views[0]),
                                                    loss.device))
