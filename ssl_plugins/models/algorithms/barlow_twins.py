"""Barlow Twins: Self-Supervised Learning via Redundancy Reduction (Zbontar et al., ICML 2021)."""
from typing import Dict, List, Optional

import torch

from ssl_plugins.functional.multi_crop import unordered_global_pairs
from ssl_plugins.registry import MODELS
from .base import BaseSelfSupervisor


@MODELS.register_module()
class BarlowTwins(BaseSelfSupervisor):
    """Make the cross-correlation of two views' embeddings the identity.

    ``z = projector(backbone(view))`` per view (separate BN statistics, as the
    official code); the head is :class:`BarlowTwinsLoss`, which applies the
    final affine-free BN over the *global* batch and sums the
    cross-correlation over ranks with autograd-aware collectives.

    Multi-crop (2 global + N local views, global first): the loss of every
    pair of a global view and another view, averaged over the ``1 + 2N``
    pairs (:func:`~ssl_plugins.functional.multi_crop.unordered_global_pairs`;
    the loss is symmetric in its two views); local views go through the
    network one call per resolution. With two views this is the loss above.

    Args:
        backbone (dict): e.g. ResNet-50 with ``zero_init_residual=True``.
        neck (dict): projector, ``MLPNeck`` 8192-8192-8192 with no biases.
        head (dict): ``BarlowTwinsLoss`` (lambda 0.0051).
        num_global_views (int): leading global views (2).
        bn_stats_from_global_views (bool): local crops do not update the
            backbone's BN running statistics (training unchanged; see
            :meth:`project_views`). Defaults to True.
        **kwargs: passed to :class:`BaseSelfSupervisor`.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 num_global_views: int = 2,
                 bn_stats_from_global_views: bool = True,
                 **kwargs):
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        unordered_global_pairs(num_global_views, num_global_views)
        self.num_global_views = num_global_views
        self.bn_stats_from_global_views = bn_stats_from_global_views

    def loss(self,
             views: List[torch.Tensor],
             data_samples: Optional[list] = None) -> Dict[str, torch.Tensor]:
        """Barlow Twins loss of two views, or of a multi-crop batch."""
        self._check_num_views(views, self.num_global_views)
        z, _ = self.project_views(views, self.num_global_views,
                                  stats_from_global=
                                  self.bn_stats_from_global_views)
        pairs = unordered_global_pairs(len(views), self.num_global_views)
        return dict(loss=sum(self.head(z[a], z[b])
                             for a, b in pairs) / len(pairs))
