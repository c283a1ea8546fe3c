"""SimSiam: Exploring Simple Siamese Representation Learning (Chen & He, CVPR 2021)."""
from typing import Dict, List, Optional

import torch

from ssl_plugins.functional.simsiam import normalized_output_std
from ssl_plugins.registry import MODELS
from .base import BaseSelfSupervisor


@MODELS.register_module()
class SimSiam(BaseSelfSupervisor):
    """Siamese encoder + predictor, no negatives, no momentum encoder.

    ``loss = D(p1, sg(z2)) / 2 + D(p2, sg(z1)) / 2`` with ``D = -cos``
    (Algorithm 1), logged in [-1, 1]. Each view goes through the encoder
    separately (per-view BN statistics, as the official code).

    Also logs ``z_std``, the channel-mean std of the L2-normalised projector
    output: ~1/sqrt(d) when healthy, 0 when collapsed (paper Fig. 2).

    Args:
        backbone (dict): e.g. ResNet-50 with ``zero_init_residual=True``.
        neck (dict): projector, ``MLPNeck`` 3 x 2048 with BN on every layer
            (the output BN without affine).
        head (dict): ``LatentPredictHead`` with the 2048-512-2048 predictor and
            ``SimSiamLoss``.
        **kwargs: passed to :class:`BaseSelfSupervisor`.
    """

    def loss(self,
             views: List[torch.Tensor],
             data_samples: Optional[list] = None) -> Dict[str, torch.Tensor]:
        """Symmetrised SimSiam loss of the first two views."""
        self._check_num_views(views, 2)
        z1 = self.neck(self.backbone(views[0]))
        z2 = self.neck(self.backbone(views[1]))
        loss = 0.5 * self.head.loss(z1, z2) + 0.5 * self.head.loss(z2, z1)
        return dict(loss=loss, z_std=normalized_output_std(z1))
