"""DINO head: the loss with its teacher centre."""
from typing import Dict, Optional

import torch
from mmengine.model import BaseModule

from ssl_plugins.registry import MODELS

MISSING_HOOK = (
    "DINO's teacher centre was not updated after the previous training "
    "iteration. Add dict(type='DINOTeacherCenteringHook') to the config's "
    'custom_hooks (it updates the centre after every iteration, with the '
    'sums and counts all-reduced over ranks); in a plain training loop call '
    'model.update_center() after each optimizer step.')


@MODELS.register_module()
class DINOHead(BaseModule):
    """Computes ``DINOLoss``; the centre moves in :meth:`update_center`.

    The loss uses the current centre and records the batch's teacher
    statistics; ``DINOTeacherCenteringHook`` (or, in a plain loop, the
    caller) applies them after the iteration (official order: the loss with
    the old centre, then ``c <- m c + (1 - m) mean(teacher)`` over all
    ranks). A training-mode loss whose predecessor's statistics were never
    applied raises: the centre would silently stay at its initial value.

    Args:
        loss (dict): ``DINOLoss`` config (holds the centre buffer).
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self, loss: dict, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.loss_module = MODELS.build(loss)

    def set_teacher_temp(self, temp: float) -> None:
        """Set tau_t of the loss (teacher temperature warm-up)."""
        self.loss_module.teacher_temp = float(temp)

    def loss(self, student_out: torch.Tensor,
             teacher_out: torch.Tensor) -> torch.Tensor:
        """Loss of stacked student (V*B, K) and teacher (2*B, K) outputs."""
        if self.training and self.loss_module.pending is not None:
            raise RuntimeError(MISSING_HOOK)
        return self.loss_module(student_out, teacher_out)

    def update_center(self, momentum: Optional[float] = None
                      ) -> Dict[str, torch.Tensor]:
        """Move the centre with the last training batch's teacher outputs
        (see ``DINOLoss.update_center``)."""
        return self.loss_module.update_center(momentum)
