"""DINO loss module: owns the teacher centre and the temperatures."""
import torch
from mmengine.model import BaseModule

from ssl_plugins.functional.dino import dino_loss, update_center
from ssl_plugins.registry import MODELS


@MODELS.register_module()
class DINOLoss(BaseModule):
    """Self-distillation cross-entropy with a centred, sharpened teacher.

    Wraps :func:`ssl_plugins.functional.dino.dino_loss`. The centre ``c`` is a
    buffer, so it is saved in checkpoints (``head.loss_module.center``) and
    restored by ``--resume``; :meth:`update_center` moves it after the loss of
    an iteration has been computed (official order: the loss uses the centre
    of the previous iterations).

    Args:
        out_channels (int): K, size of the projections (65536).
        student_temp (float): tau_s. Defaults to 0.1 (paper).
        teacher_temp (float): tau_t used until a
            ``DINOTeacherTempHook`` sets it. Defaults to 0.04 (paper's
            warm-up start, official default).
        center_momentum (float): m of the centre EMA. Defaults to 0.9.
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

    def forward(self, student_out: torch.Tensor,
                teacher_out: torch.Tensor) -> torch.Tensor:
        """Loss of stacked student (V*B, K) and teacher (T*B, K) outputs."""
        return dino_loss(student_out,
                         teacher_out,
                         self.center,
                         teacher_temp=self.teacher_temp,
                         student_temp=self.student_temp,
                         num_teacher_views=self.num_teacher_views)

    @torch.no_grad()
    def update_center(self, teacher_out: torch.Tensor) -> None:
        """``c <- m c + (1 - m) mean(teacher_out)``, mean over all ranks."""
        self.center.copy_(
            update_center(self.center, teacher_out, self.center_momentum))
