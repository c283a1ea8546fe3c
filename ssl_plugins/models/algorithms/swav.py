"""SwAV: Swapping Assignments between multiple Views (Caron et al., 2020)."""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F

from ssl_plugins.functional.distributed import global_batch_weight
from ssl_plugins.registry import MODELS
from ..utils import global_avg_pool
from .base import BaseSelfSupervisor


@MODELS.register_module()
class SwAV(BaseSelfSupervisor):
    """Online clustering with swapped prediction over multi-crop views.

    Per step (official ``main_swav.py``): the views are forwarded one
    backbone call per resolution; all views' features go through the
    projector together (one BN over all crops) and are L2-normalised; the
    head (:class:`SwAVHead`, the objective: prototypes, queue, codes by
    distributed Sinkhorn-Knopp, swapped prediction) returns the loss.

    Queue (paper §4, small batches): :class:`SwAVQueueHook` starts it through
    :meth:`start_queue`; it lives in the head (``head.queue``,
    :class:`SwAVQueue`) and travels in the state dict.

    Prototype freezing: :meth:`drop_prototype_grads` after backward, before
    the optimizer step (:class:`FreezePrototypesHook` does it for the first
    iterations); the prototypes stay in the graph, so DDP runs with
    ``find_unused_parameters=False``.

    Args:
        backbone (dict): backbone config.
        neck (dict): projector (``MLPNeck`` 2048 -> 2048 -> 128, BN, ReLU).
        head (dict): ``SwAVHead`` (prototypes, ``SwAVLoss`` settings).
        bn_stats_from_global_views (bool): only the first resolution (the
            global crops) updates the backbone's BN running statistics,
            which eval mode (kNN, linear probe) reads; training is the same
            (batch statistics). The official code lets every crop update
            them. Defaults to True.
        **kwargs: passed to :class:`BaseSelfSupervisor`.
    """

    def __init__(self, backbone: dict, neck: dict, head: dict,
                 bn_stats_from_global_views: bool = True, **kwargs):
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        self.bn_stats_from_global_views = bn_stats_from_global_views

    # ------------------------------------------- hooks' API (queue, freeze)
    def start_queue(self, length: int) -> None:
        """Start the queue with ``length`` embeddings per assigned view and
        per process (the official per-GPU share), unless started."""
        self.head.queue.start(length, like=self.head.prototypes.weight)

    @property
    def queue(self) -> Optional[torch.Tensor]:
        """This process's share ``(views, length, dim)``, None before the
        start: the queued embeddings its codes use."""
        return self.head.queue.share

    @property
    def queue_in_use(self) -> bool:
        """True once the queue is full: its scores then join the codes."""
        return self.head.queue.full

    def drop_prototype_grads(self) -> None:
        """Drop the prototypes' gradient (call after backward, before the
        optimizer step): the official freezing of the first iterations."""
        self.head.drop_prototype_grads()

    # ------------------------------------------------------------- loss
    def embed(self, views: List[torch.Tensor]) -> List[torch.Tensor]:
        """Unit embeddings of every view: one backbone call per resolution,
        global average pooling, one projector call on all views together
        (its BN sees all crops, as the official code)."""
        feats = self.backbone_per_resolution(
            self.backbone, views,
            stats_from_first=self.bn_stats_from_global_views)
        # global-average-pool first: maps of different crop sizes differ
        feats = [global_avg_pool(f) for f in feats]
        z = F.normalize(self.neck(torch.cat(feats)), dim=1)
        return list(z.split([f.shape[0] for f in feats]))

    def loss(self, views: List[torch.Tensor],
             data_samples: Optional[list] = None) -> Dict[str, torch.Tensor]:
        """SwAV loss of a list of views (global crops first)."""
        self._check_num_views(views, 2)
        loss = self.head.loss(self.embed(views))
        # the global-batch mean under DDP, also with unequal rank batches
        # (the codes are global already: Sinkhorn-Knopp sums over ranks)
        return dict(loss=loss * global_batch_weight(len(views[0]),
                                                    loss.device))
