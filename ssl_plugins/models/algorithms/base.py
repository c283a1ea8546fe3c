"""Shared base of every ssl_plugins algorithm."""
import contextlib
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from ssl_plugins.functional.multi_crop import global_view_pairs
from ssl_plugins.registry import MODELS
from ..utils import frozen_running_stats


def same_size_runs(views: Sequence[torch.Tensor],
                   start: int = 0) -> List[List[int]]:
    """Indices of ``views[start:]`` in runs of consecutive same-size views
    (the groups that can share one forward pass)."""
    runs = []
    while start < len(views):
        end = start + 1
        while (end < len(views)
               and views[end].shape[-2:] == views[start].shape[-2:]):
            end += 1
        runs.append(list(range(start, end)))
        start = end
    return runs


def _compiling() -> bool:
    """Whether TorchDynamo is tracing the caller (``torch.compile``)."""
    is_compiling = getattr(torch.compiler, 'is_compiling', None)
    return bool(is_compiling is not None and is_compiling())


def _build(cfg):
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    return MODELS.build(cfg)


class BaseSelfSupervisor(BaseModel, metaclass=ABCMeta):
    """Backbone + neck + head with mmengine's ``forward(mode=...)`` protocol.

    Subclasses implement :meth:`loss` on a list of views (one tensor of shape
    (N, C, H, W) per view, as produced by a multi-view pipeline, ``PackInputs``
    and ``SelfSupDataPreprocessor``).

    Head contract (all five methods): :meth:`loss` runs the views through
    ``backbone`` and ``neck`` (BYOL, SimSiam: and the head's ``predictor``),
    then calls ``self.head.loss(...)`` once, which returns this rank's
    scalar loss; the algorithm scales it by ``global_batch_weight`` (DDP)
    and returns ``dict(loss=...)``. The head holds everything else the
    objective needs, with its config keys: ``LatentPredictHead.loss(
    predictions, targets)`` (BYOL, SimSiam: the predictor, the loss function
    over view pairs), ``BarlowTwinsLoss.loss(projections, num_global)``,
    ``SwAVHead.loss(embeddings)`` (prototypes, queue), ``DINOHead.loss(
    student_out, teacher_out)`` (centre, temperatures). A method's objective
    (equation, pure function, registered names) is one file:
    ``models/losses/{byol,simsiam,barlow_twins}_loss.py``,
    ``models/heads/{swav,dino}_head.py``.

    Args:
        backbone (dict | nn.Module): e.g. mmpretrain's ``ResNet``.
        neck (dict | nn.Module, optional): projector.
        head (dict | nn.Module, optional): predictor/loss.
        data_preprocessor (dict | nn.Module, optional): defaults to
            mmpretrain's ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): mmengine initialisation config.
        pretrained (str, optional): shortcut for
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``.
    """

    def __init__(self,
                 backbone: Union[dict, nn.Module],
                 neck: Optional[Union[dict, nn.Module]] = None,
                 head: Optional[Union[dict, nn.Module]] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None):
        if pretrained is not None:
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        if data_preprocessor is None or isinstance(data_preprocessor, dict):
            data_preprocessor = dict(data_preprocessor or {})
            data_preprocessor.setdefault('type', 'SelfSupDataPreprocessor')
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(init_cfg=init_cfg,
                         data_preprocessor=data_preprocessor)
        self.backbone = _build(backbone)
        self.neck = _build(neck)
        self.head = _build(head)

    def forward(self,
                inputs: Union[torch.Tensor, List[torch.Tensor]],
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """``mode='tensor'``: backbone features; ``mode='loss'``: a loss
        dict."""
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'loss':
            return self.loss(self._as_views(inputs), data_samples)
        raise RuntimeError(f'Invalid mode "{mode}"; expected "tensor" or '
                           '"loss".')

    def train_step(self, data, optim_wrapper):
        """mmengine's ``train_step``; under ``torch.compile`` (mmengine's
        ``compile=True`` compiles this method) without the data samples.

        None of the losses reads the samples, and mmengine's data
        preprocessor copies their per-image metadata (``copy.deepcopy`` of
        ``img_shape``, ``sample_idx``, ...): Dynamo guards on those objects,
        so every batch would recompile the step. Eager steps pass them as
        before.
        """
        if (_compiling() and isinstance(data, dict)
                and data.get('data_samples') is not None):
            data = dict(data, data_samples=None)
        return super().train_step(data, optim_wrapper)

    def extract_feat(self, inputs: torch.Tensor):
        """Backbone features of one batch (the representation we evaluate)."""
        return self.backbone(inputs)

    @staticmethod
    def _as_views(inputs) -> List[torch.Tensor]:
        if isinstance(inputs, torch.Tensor):
            return [inputs]
        return list(inputs)

    def _check_num_views(self, views: Sequence[torch.Tensor],
                         minimum: int) -> None:
        if len(views) < minimum:
            raise ValueError(
                f'{type(self).__name__} needs at least {minimum} views per '
                f'image but got {len(views)}; use a multi-view pipeline '
                '(MultiCrop / MultiView) in the train dataloader.')

    @staticmethod
    def backbone_per_resolution(backbone: nn.Module,
                                views: Sequence[torch.Tensor],
                                stats_from_first: bool = False
                                ) -> List[torch.Tensor]:
        """Run ``backbone`` once per group of consecutive same-size views.

        Multi-crop batches (2 global + N local crops) thus cost one call per
        resolution instead of one per view, as in SwAV's and DINO's code.

        Args:
            backbone (nn.Module): the network.
            views (list[Tensor]): the views, largest first.
            stats_from_first (bool): only the first group (the global crops)
                updates the BatchNorm running statistics
                (:func:`frozen_running_stats`; same outputs and gradients).

        Returns:
            list[Tensor]: the last backbone output of each view, in order.
        """
        outputs: List[torch.Tensor] = []
        for idx in same_size_runs(views):
            frozen = stats_from_first and idx[0] > 0
            with (frozen_running_stats(backbone) if frozen
                  else contextlib.nullcontext()):
                feats = backbone(torch.cat([views[i] for i in idx]))
            if isinstance(feats, (tuple, list)):
                feats = feats[-1]
            outputs.extend(feats.chunk(len(idx)))
        return outputs

    @abstractmethod
    def loss(self, views: List[torch.Tensor],
             data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        """Losses of a batch of views."""


class MultiCropSelfSupervisor(BaseSelfSupervisor):
    """Base of the two-view methods (BYOL, SimSiam, Barlow Twins), which also
    take a multi-crop batch: ``num_global_views`` global views first, then
    local views.

    Args:
        backbone, neck, head: as :class:`BaseSelfSupervisor`.
        num_global_views (int): leading global views (2); only they are
            targets (see ``ssl_plugins.functional.multi_crop``).
        bn_stats_from_global_views (bool): local crops do not update the
            backbone's BN running statistics (training unchanged; see
            :meth:`project_views`). Defaults to True.
        **kwargs: passed to :class:`BaseSelfSupervisor`.
    """

    def __init__(self,
                 backbone: Union[dict, nn.Module],
                 neck: Optional[Union[dict, nn.Module]] = None,
                 head: Optional[Union[dict, nn.Module]] = None,
                 num_global_views: int = 2,
                 bn_stats_from_global_views: bool = True,
                 **kwargs):
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        global_view_pairs(num_global_views, num_global_views)  # validates
        self.num_global_views = num_global_views
        self.bn_stats_from_global_views = bn_stats_from_global_views

    @staticmethod
    def view_groups(views: Sequence[torch.Tensor],
                    num_global: int) -> List[List[int]]:
        """Indices of the views that share one forward pass.

        Each of the first ``num_global`` (global) views alone, as the
        two-view methods' official code does (per-view BN batch statistics),
        then one group per run of consecutive same-size (local) views.
        """
        num_global = min(num_global, len(views))
        return ([[i] for i in range(num_global)]
                + same_size_runs(views, num_global))

    def project_views(self,
                      views: Sequence[torch.Tensor],
                      predictor: Optional[nn.Module] = None):
        """``neck(backbone(view))`` of every view (and its prediction).

        Multi-crop form of the two-view methods: global views go through the
        network one at a time, local views one call per resolution
        (:meth:`view_groups`). With ``bn_stats_from_global_views`` the
        local crops leave the backbone's BN running statistics as they are
        (:func:`frozen_running_stats`; same outputs and gradients), so the
        network evaluated on full images has full-image statistics.

        Returns:
            tuple[list[Tensor], list[Tensor]]: the projection of each view,
            and ``predictor`` of each (empty list without a predictor).
        """
        self._check_num_views(views, self.num_global_views)
        num_global = self.num_global_views
        projections, predictions = [], []
        for idx in self.view_groups(views, num_global):
            batch = (views[idx[0]] if len(idx) == 1 else
                     torch.cat([views[i] for i in idx]))
            frozen = (self.bn_stats_from_global_views
                      and idx[0] >= num_global)
            with (frozen_running_stats(self.backbone) if frozen
                  else contextlib.nullcontext()):
                z = self.neck(self.backbone(batch))
            projections.extend(z.chunk(len(idx)))
            if predictor is not None:
                predictions.extend(predictor(z).chunk(len(idx)))
        return projections, predictions
