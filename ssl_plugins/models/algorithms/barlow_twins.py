"""Barlow Twins: Self-Supervised Learning via Redundancy Reduction (Zbontar et al., ICML 2021)."""
from typing import Dict, List, Optional

import torch

from ssl_plugins.registry import MODELS
from .base import BaseSelfSupervisor


@MODELS.register_module()
class BarlowTwins(BaseSelfSupervisor):
    """Make the cross-correlation of two views' embeddings the identity.

    ``z = projector(backbone(view))`` per view (separate BN statistics, as the
    official code); the head is :class:`BarlowTwinsLoss`, which applies the
    final affine-free BN over the *global* batch and sums the
    cross-correlation over ranks with autograd-aware collectives.

    Args:
        backbone (dict): e.g. ResNet-50 with ``zero_init_residual=True``.
        neck (dict): projector, ``MLPNeck`` 8192-8192-8192 with no biases.
        head (dict): ``BarlowTwinsLoss`` (lambda 0.0051).
        **kwargs: passed to :class:`BaseSelfSupervisor`.
    """

    def loss(self,
             views: List[torch.Tensor],
             data_samples: Optional[list] = None) -> Dict[str, torch.Tensor]:
        """Barlow Twins loss of the first two views."""
        self._check_num_views(views, 2)
        z1 = self.neck(self.backbone(views[0]))
        z2 = self.neck(self.backbone(views[1]))
        return dict(loss=self.head(z1, z2))
