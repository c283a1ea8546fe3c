"""Barlow Twins: Self-Supervised Learning via Redundancy Reduction (Zbontar
et al., ICML 2021)."""
from typing import Dict, List, Optional

import torch

from ssl_plugins.registry import MODELS
from .base import MultiCropSelfSupervisor


@MODELS.register_module()
class BarlowTwins(MultiCropSelfSupervisor):
    """Make the cross-correlation of two views' embeddings the identity.

    ``z = projector(backbone(view))`` per view (separate BN statistics, as the
    official code); the head is :class:`BarlowTwinsLoss`
    (``models/losses/barlow_twins_loss.py``, the objective), which applies
    the final affine-free BN over the *global* batch and sums the
    cross-correlation over ranks with autograd-aware collectives.

    Multi-crop (2 global + N local views, global first): the loss of every
    pair of a global view and another view, averaged over the ``1 + 2N``
    pairs by the head (the loss is symmetric in its two views); local views
    go through the network one call per resolution. With two views this is
    the two-view loss.

    Args:
        backbone (dict): e.g. ResNet-50 with ``zero_init_residual=True``.
        neck (dict): projector, ``MLPNeck`` 8192-8192-8192 with no biases.
        head (dict): ``BarlowTwinsLoss`` (lambda 0.0051).
        **kwargs: passed to :class:`MultiCropSelfSupervisor`
            (``num_global_views``, ``bn_stats_from_global_views``).
    """

    def loss(self,
             views: List[torch.Tensor],
             data_samples: Optional[list] = None) -> Dict[str, torch.Tensor]:
        """Barlow Twins loss of two views, or of a multi-crop batch."""
        z, _ = self.project_views(views)
        return dict(loss=self.head.loss(z, self.num_global_views))
