"""SwAV: Swapping Assignments between multiple Views (Caron et al., 2020)."""
from typing import Dict, List, Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F

from ssl_plugins.functional.distributed import global_batch_weight
from ssl_plugins.registry import MODELS
from .base import BaseSelfSupervisor


@MODELS.register_module()
class SwAV(BaseSelfSupervisor):
    """Online clustering with swapped prediction over multi-crop views.

    Per step (official ``main_swav.py``): the prototypes are L2-normalised
    (start of :meth:`loss` in training mode, i.e. right after the previous
    optimizer step); the views are forwarded one backbone call per
    resolution; all views' features go through the projector together (one
    BN over all crops) and are L2-normalised; the head scores them against
    the prototypes, computes codes of the views in ``crops_for_assign`` by
    distributed Sinkhorn-Knopp and the swapped-prediction loss.

    Queue (paper Sec. 4, small batches): started by :class:`SwAVQueueHook`
    through :meth:`start_queue`; each training step first scores the queued
    embeddings against the current prototypes (used for the codes only, once
    the queue is full, as the official code), then pushes the batch's
    embeddings of the assigned views (FIFO). Each process uses its own
    share, as the official per-GPU queues, but holds a copy of every share
    (the new embeddings are all-gathered, a few KB per step), so the rank
    that writes checkpoints (only rank 0 runs ``before_save_checkpoint``)
    saves the complete state and a resumed run continues exactly. The queue
    is a plain tensor attribute, not a buffer (DDP broadcasts buffers from
    rank 0).

    Prototype freezing: :meth:`drop_prototype_grads` after backward, before
    the optimizer step (:class:`FreezePrototypesHook` does it for the first
    iterations); the prototypes stay in the graph, so DDP runs with
    ``find_unused_parameters=False``.

    Args:
        backbone (dict): backbone config.
        neck (dict): projector (``MLPNeck`` 2048 -> 2048 -> 128, BN, ReLU).
        head (dict): ``SwAVHead`` (prototypes + ``SwAVLoss``).
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
        # (world_size, assigned views, length per process, dim): every
        # process holds all processes' shares (see queue_state)
        self._queue: Optional[torch.Tensor] = None

    # ----------------------------------------------------------- queue API
    def start_queue(self, length: int) -> None:
        """Allocate an empty queue of ``length`` embeddings per assigned view
        and per process (the official per-GPU share), unless one exists."""
        if self._queue is not None:
            return
        if length < 1:
            raise ValueError(f'SwAV.start_queue: length must be >= 1, got '
                             f'{length}')
        w = self.head.prototypes.weight
        self._queue = w.new_zeros((_world_size(),
                                   len(self.head.crops_for_assign), length,
                                   w.shape[1]))

    @property
    def queue(self) -> Optional[torch.Tensor]:
        """This process's share ``(views, length, dim)`` (None before the
        start): the queued embeddings its codes use."""
        return None if self._queue is None else self._queue[_rank()]

    def queue_state(self) -> Optional[torch.Tensor]:
        """The shares of all processes, ``(world_size, views, length, dim)``.

        Every process pushes the embeddings of all processes into its copy
        (one small all-gather per step), so any rank, e.g. the one that
        writes checkpoints, holds the complete state.
        """
        return self._queue

    def load_queue(self, queue: Optional[torch.Tensor]) -> None:
        """Restore :meth:`queue_state` (e.g. from a checkpoint); ``None``
        clears the queue."""
        if queue is None:
            self._queue = None
            return
        w = self.head.prototypes.weight
        expected = (_world_size(), len(self.head.crops_for_assign),
                    w.shape[1])
        if queue.dim() != 4 or (queue.shape[0], queue.shape[1],
                                queue.shape[3]) != expected:
            raise ValueError(
                f'SwAV.load_queue: expected a queue of shape ({expected[0]} '
                f'processes, {expected[1]} views, length, {expected[2]}), '
                f'got {tuple(queue.shape)}')
        self._queue = queue.detach().to(device=w.device,
                                        dtype=w.dtype).clone()

    @property
    def queue_in_use(self) -> bool:
        """True once the queue is full: its scores then join the codes."""
        return self._queue is not None and bool(self._queue[:, :, -1].any())

    # ------------------------------------------------------ freezing API
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
        feats = [f.mean(dim=(2, 3)) if f.dim() == 4 else f for f in feats]
        z = F.normalize(self.neck(torch.cat(feats)), dim=1)
        return list(z.split([f.shape[0] for f in feats]))

    def loss(self, views: List[torch.Tensor],
             data_samples: Optional[list] = None) -> Dict[str, torch.Tensor]:
        """SwAV loss of a list of views (global crops first)."""
        self._check_num_views(views, 2)
        assign = self.head.crops_for_assign
        if max(assign) >= len(views):
            raise ValueError(
                f'SwAV: crops_for_assign {tuple(assign)} refers to view '
                f'{max(assign)} but the batch has {len(views)} views')
        if self.training:
            self.head.normalize_prototypes()
        z = self.embed(views)
        queued = None
        if self.training and self._queue is not None:
            queued = self._update_queue([z[c] for c in assign])
        loss = self.head.loss(z, queued)
        # the global-batch mean under DDP, also with unequal rank batches
        # (the codes are global already: Sinkhorn-Knopp sums over ranks)
        return dict(loss=loss * global_batch_weight(len(views[0]),
                                                    loss.device))

    @torch.compiler.disable
    @torch.no_grad()
    def _update_queue(self, new: List[torch.Tensor]
                      ) -> Optional[List[torch.Tensor]]:
        """Return this process's queue to use now (None until full), then
        push ``new`` of every process (FIFO, newest first).

        Eager also in a compiled step (``torch.compiler.disable``): whether
        the queue is full is read from its values on the host, and the push
        is a copy plus an all-gather."""
        batch = new[0].shape[0]
        length = self._queue.shape[2]
        if batch > length:
            raise ValueError(
                f'SwAV: the queue ({length} per process) is shorter than the '
                f'batch ({batch} per process); raise the queue length')
        used = list(self.queue.clone()) if self.queue_in_use else None
        new = torch.stack(new).to(self._queue.dtype).contiguous()
        if self._queue.shape[0] > 1:
            gathered = [torch.empty_like(new) for _ in range(_world_size())]
            dist.all_gather(gathered, new)
            new = torch.stack(gathered)
        else:
            new = new[None]
        self._queue[:, :, batch:] = self._queue[:, :, :-batch].clone()
        self._queue[:, :, :batch] = new
        return used


def _world_size() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def _rank() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return 0
