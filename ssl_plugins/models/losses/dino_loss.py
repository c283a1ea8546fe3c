"""DINO loss module: owns the teacher centre and the temperatures."""
from typing import Dict, Optional

import torch
from mmengine.model import BaseModule

from ssl_plugins.functional.dino import (center_from_sums, dino_loss,
                                         teacher_entropy)
from ssl_plugins.registry import MODELS


@MODELS.register_module()
class DINOLoss(BaseModule):
    """Self-distillation cross-entropy with a centred, sharpened teacher.

    Wraps :func:`ssl_plugins.functional.dino.dino_loss`. The centre ``c`` is a
    buffer, so it is saved in checkpoints (``head.loss_module.center``) and
    restored by ``--resume``. In training mode :meth:`forward` uses the
    current centre and records the batch's teacher statistics (the K-vector
    of summed teacher logits and the sample count, plus the teacher entropy
    and the teacher-student KL divergence for logging); :meth:`update_center`
    then applies ``c <- m c + (1 - m) * global mean`` with the sums and
    counts all-reduced (official order: the loss of an iteration uses the
    centre of the previous ones). ``DINOTeacherCenteringHook`` calls it after
    every training iteration.

    Args:
        out_channels (int): K, size of the projections (65536).
        student_temp (float): tau_s. Defaults to 0.1 (paper).
        teacher_temp (float): tau_t used until a
            ``TeacherTempWarmupHook`` sets it. Defaults to 0.04 (paper's
            warm-up start, official default).
        center_momentum (float): m of the centre EMA when
            :meth:`update_center` is called without one (a plain training
            loop); the hook passes its own. Defaults to 0.9 (paper).
        num_teacher_views (int): global crops seen by the teacher (2).
    """

    def __init__(self,
                 out_channels: int = 65536,
                 student_temp: float = 0.1,
                 teacher_temp: float = 0.04,
                 center_momentum: float = 0.9,
                 num_teacher_views: int = 2,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.student_temp = student_temp
        self.teacher_temp = teacher_temp
        self.center_momentum = center_momentum
        self.num_teacher_views = num_teacher_views
        self.register_buffer('center', torch.zeros(1, out_channels))
        self.pending: Optional[Dict[str, torch.Tensor]] = None

    def forward(self, student_out: torch.Tensor,
                teacher_out: torch.Tensor) -> torch.Tensor:
        """Loss of stacked student (V*B, K) and teacher (T*B, K) outputs."""
        loss = dino_loss(student_out,
                         teacher_out,
                         self.center,
                         teacher_temp=self.teacher_temp,
                         student_temp=self.student_temp,
                         num_teacher_views=self.num_teacher_views)
        if self.training:
            with torch.no_grad():
                entropy = teacher_entropy(teacher_out, self.center,
                                          self.teacher_temp)
                self.pending = dict(
                    teacher_sum=teacher_out.detach().float().sum(0),
                    count=teacher_out.new_tensor(float(teacher_out.shape[0])),
                    teacher_entropy=entropy,
                    kl_teacher_student=loss.detach() - entropy)
        return loss

    @torch.no_grad()
    def update_center(self, momentum: Optional[float] = None
                      ) -> Dict[str, torch.Tensor]:
        """Apply the recorded batch to the centre (all ranks must call it).

        Returns:
            dict: the batch's ``teacher_entropy``, ``kl_teacher_student`` and
            the new ``center_norm`` (tensors), for logging.

        Raises:
            RuntimeError: no training-mode loss since the last update.
        """
        if self.pending is None:
            raise RuntimeError(
                'DINOLoss.update_center: no teacher statistics recorded since '
                'the last update (call it once after each training-mode '
                'loss)')
        stats, self.pending = self.pending, None
        m = self.center_momentum if momentum is None else momentum
        self.center.copy_(center_from_sums(self.center, stats['teacher_sum'],
                                           stats['count'], m))
        return dict(teacher_entropy=stats['teacher_entropy'],
                    kl_teacher_student=stats['kl_teacher_student'],
                    center_norm=self.center.norm())
