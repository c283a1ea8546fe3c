"""DINO head: the loss with its teacher centre."""
import torch
from mmengine.model import BaseModule

from ssl_plugins.registry import MODELS


@MODELS.register_module()
class DINOHead(BaseModule):
    """Computes ``DINOLoss`` and, in training, then updates its centre.

    The centre update follows the loss of the same iteration, as the
    official ``DINOLoss.forward`` (loss with the old centre, then
    ``c <- m c + (1 - m) mean(teacher)``, mean over all ranks). Being part of
    the training step rather than a hook, it also happens in a plain training
    loop and under DDP (the head runs inside the wrapped module).

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
        loss = self.loss_module(student_out, teacher_out)
        if self.training:
            self.loss_module.update_center(teacher_out)
        return loss
