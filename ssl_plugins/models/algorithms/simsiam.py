"""SimSiam: Exploring Simple Siamese Representation Learning (Chen & He,
CVPR 2021)."""
from typing import Dict, List, Optional

import torch

from ssl_plugins.functional.collapse import normalized_embedding_std
from ssl_plugins.functional.distributed import global_batch_weight
from ssl_plugins.registry import MODELS
from .base import MultiCropSelfSupervisor


@MODELS.register_module()
class SimSiam(MultiCropSelfSupervisor):
    """Siamese encoder + predictor, no negatives, no momentum encoder.

    ``loss = D(p1, sg(z2)) / 2 + D(p2, sg(z1)) / 2`` with ``D = -cos``
    (Algorithm 1), logged in [-1, 1]; the objective (equation, function,
    config name ``SimSiamLoss``) is ``models/losses/simsiam_loss.py``.
    Each view goes through the encoder
    separately (per-view BN statistics, as the official code).

    Multi-crop (2 global + N local views, global first): ``D(p_v, sg(z_g))``
    averaged over every view ``v`` and every global view ``g != v`` (DINO's
    pairing, averaged by the head: ``LatentPredictHead.loss``);
    local views go through the encoder one call per resolution. With two
    views this is the loss above.

    Also logs ``z_std``, the channel-mean std of the L2-normalised projector
    output: ~1/sqrt(d) when healthy, 0 when collapsed (paper Fig. 2).

    Args:
        backbone (dict): e.g. ResNet-50 with ``zero_init_residual=True``.
        neck (dict): projector, ``MLPNeck`` 3 x 2048 with BN on every layer
            (the output BN without affine).
        head (dict): ``LatentPredictHead`` with the 2048-512-2048 predictor and
            ``SimSiamLoss``.
        **kwargs: passed to :class:`MultiCropSelfSupervisor`
            (``num_global_views``, ``bn_stats_from_global_views``).
    """

    def loss(self,
             views: List[torch.Tensor],
             data_samples: Optional[list] = None) -> Dict[str, torch.Tensor]:
        """Symmetrised SimSiam loss of two views, or of a multi-crop batch."""
        z, p = self.project_views(views, self.head.predictor)
        loss = self.head.loss(p, z[:self.num_global_views])
        # the global-batch mean under DDP, also with unequal rank batches
        loss = loss * global_batch_weight(len(views[0]), loss.device)
        return dict(loss=loss, z_std=normalized_embedding_std(z[0]))
