"""DINO: self-distillation with no labels (Caron et al., ICCV 2021)."""
from typing import Dict, List, Optional

import torch
from torch import nn

from ssl_plugins.functional.distributed import global_batch_weight
from ssl_plugins.registry import MODELS
from ..utils import global_avg_pool
from .base import BaseSelfSupervisor
from .momentum_mixin import MomentumTarget, MomentumTargetMixin


def disable_stochastic_layers(module: nn.Module) -> None:
    """Set every dropout / drop-path probability inside ``module`` to 0.

    The official teacher is built without drop-path (``vits.__dict__[arch]
    (patch_size=...)``, drop_path_rate 0) while the student uses 0.1; our
    teacher is a deep copy of the student, so its stochastic layers are
    switched off here (the copy stays in train mode, as the official
    teacher: its BatchNorms, in ResNets, use batch statistics).
    """
    for m in module.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.p = 0.0
        elif hasattr(m, 'drop_prob'):  # mmcv / timm DropPath
            m.drop_prob = 0.0


@MODELS.register_module()
class DINO(MomentumTargetMixin, BaseSelfSupervisor):
    """Student (backbone + ``DINONeck``) distilled from an EMA teacher.

    ``views`` are the multi-crop views, the ``num_global_views`` (2) global
    crops first. The teacher (``target.backbone``, ``target.neck`` in
    checkpoints, also reachable as ``teacher``; same
    architecture, no gradient, no drop-path) sees only the global crops under
    ``no_grad``; the student sees all crops (one backbone call per
    resolution, as the official ``MultiCropWrapper``). The objective is the
    head's (``models/heads/dino_head.py``: the loss, its centre buffer
    ``head.loss_module.center``, saved with checkpoints); the loss records
    the batch's teacher statistics and :meth:`update_center` applies them
    after the iteration (``DINOTeacherCenteringHook``, in every DINO config;
    official order: the loss uses the centre of the previous iterations). A
    training-mode loss whose predecessor's centre update never happened
    stops with a message naming the hook.

    The teacher follows ``xi <- tau xi + (1 - tau) theta`` once per
    optimizer step, at the start of :meth:`loss` (right after the previous
    optimizer step; see ``MomentumTargetMixin``). ``tau`` is the paper's
    momentum, the weight of the *old* teacher (mmengine's EMA ``momentum``
    is ``1 - tau``); ``TargetMomentumHook`` raises it from
    ``base_momentum`` = 0.996 to 1 by cosine per iteration (§3.1, App. B).
    Without the hooks (a plain training step) tau and the teacher
    temperature stay at their base values.

    Args:
        backbone (dict): e.g. mmpretrain ``VisionTransformer`` (ViT-S/16,
            ``out_type='cls_token'``, drop_path_rate 0.1) or ``ResNet``.
        neck (dict): ``DINONeck`` (3-layer MLP, 256 bottleneck, L2 norm,
            weight-normalised last layer to 65536).
        head (dict): ``DINOHead`` with ``DINOLoss`` (its settings and
            centre).
        base_momentum (float): tau at iteration 0. Defaults to 0.996.
        num_global_views (int): leading views the teacher sees (2).
        bn_stats_from_global_views (bool): only the global crops update the
            student backbone's BN running statistics, which eval mode (kNN
            of the student, linear probe) reads; training is the same
            (batch statistics). The official code lets every crop update
            them; the teacher sees global crops only either way. Defaults
            to True.
        **kwargs: passed to :class:`BaseSelfSupervisor`.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 base_momentum: float = 0.996,
                 num_global_views: int = 2,
                 bn_stats_from_global_views: bool = True,
                 **kwargs):
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        self.num_global_views = num_global_views
        self.bn_stats_from_global_views = bn_stats_from_global_views
        # checkpoint keys target.backbone.* / target.neck.* (the shared
        # MomentumTarget layout, read by tools/knn_eval.py --source teacher)
        self._build_momentum_target(base_momentum)
        disable_stochastic_layers(self.target)

    @property
    def teacher(self) -> MomentumTarget:
        """The teacher network (stored as ``target``)."""
        return self.target

    def set_teacher_temp(self, temp: float) -> None:
        """Set the teacher temperature (``TeacherTempWarmupHook``)."""
        self.head.set_teacher_temp(temp)

    def update_center(self, momentum: Optional[float] = None
                      ) -> Dict[str, torch.Tensor]:
        """Move the teacher centre with the last training batch: once after
        every training iteration, on every rank (``DINOTeacherCenteringHook``
        does it; a plain loop calls it after each optimizer step).

        Args:
            momentum (float, optional): m of ``c <- m c + (1 - m) mean``;
                defaults to the loss's ``center_momentum`` (0.9).

        Returns:
            dict: ``teacher_entropy``, ``kl_teacher_student`` and
            ``center_norm`` of the batch (tensors), for logging.
        """
        return self.head.update_center(momentum)

    def last_layer_parameters(self) -> List[nn.Parameter]:
        """Student's last projection layer (``FreezeLastLayerHook``)."""
        return self.neck.last_layer_parameters()

    # -----------------------------------------------------------------------
    def _project(self, backbone: nn.Module, neck: nn.Module,
                 views: List[torch.Tensor]) -> torch.Tensor:
        feats = self.backbone_per_resolution(
            backbone, views, stats_from_first=self.bn_stats_from_global_views)
        # ResNet maps differ in size between resolutions: pool before cat
        feats = [global_avg_pool(f) for f in feats]
        return neck(torch.cat(feats))

    def loss(self,
             views: List[torch.Tensor],
             data_samples: Optional[list] = None) -> Dict[str, torch.Tensor]:
        """DINO loss of a multi-crop batch (global views first)."""
        self._check_num_views(views, self.num_global_views)
        self.update_target()
        global_views = views[:self.num_global_views]
        with torch.no_grad():
            teacher_out = self._project(self.teacher.backbone,
                                        self.teacher.neck, global_views)
        student_out = self._project(self.backbone, self.neck, views)
        loss = self.head.loss(student_out, teacher_out)
        # the global-batch mean under DDP, also with unequal rank batches
        return dict(loss=loss * global_batch_weight(len(views[0]),
                                                    loss.device))
