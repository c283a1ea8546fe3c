"""DINO: self-distillation loss, teacher centring, teacher temperature.

Caron et al., "Emerging Properties in Self-Supervised Vision Transformers",
ICCV 2021 (arXiv:2104.14294); official code facebookresearch/dino.

The loss and the centre update live with their modules in
``ssl_plugins/models/heads/dino_head.py`` (DINO's objective in one file) and
are importable from here; this module adds the functional form of the centre
update and the teacher temperature schedule (plain torch).
"""
import torch

from ssl_plugins.models.heads.dino_head import center_from_sums, dino_loss
from .collapse import teacher_entropy

__all__ = [
    'dino_loss', 'center_from_sums', 'teacher_entropy', 'update_center',
    'teacher_temperature'
]


@torch.no_grad()
def update_center(center: torch.Tensor,
                  teacher_out: torch.Tensor,
                  momentum: float = 0.9) -> torch.Tensor:
    """EMA of the teacher logits' batch mean, over the global batch.

    ``c <- m * c + (1 - m) * sum_ranks(sum_b t_b) / sum_ranks(n)``
    (official ``DINOLoss.update_center``; m = 0.9). The sums and the sample
    counts are both all-reduced, so ranks may hold different numbers of
    samples (:func:`center_from_sums`).

    Args:
        center (Tensor): ``(K,)`` or ``(1, K)`` current centre.
        teacher_out (Tensor): ``(N, K)`` raw (uncentred) teacher logits of
            this rank, all global views stacked.
        momentum (float): m, weight of the old centre.

    Returns:
        Tensor: the new centre, same shape and dtype as ``center``.
    """
    if teacher_out.dim() != 2 or teacher_out.shape[1] != center.numel():
        raise ValueError(
            f'update_center: teacher_out {tuple(teacher_out.shape)}'
            f' does not match centre of {center.numel()} values')
    return center_from_sums(center, teacher_out.detach().float().sum(0),
                            teacher_out.shape[0], momentum)


def teacher_temperature(epoch: int,
                        warmup_epochs: int = 30,
                        warmup_temp: float = 0.04,
                        temp: float = 0.07) -> float:
    """Teacher temperature: linear warm-up per epoch, then constant.

    Exactly the official schedule ``np.linspace(warmup_temp, temp,
    warmup_epochs)`` followed by ``temp``: epoch ``warmup_epochs - 1`` already
    uses ``temp`` (defaults from ``main_dino.py``: 0.04 -> 0.07 over 30).
    """
    if epoch < 0:
        raise ValueError(
            f'teacher_temperature: epoch must be >= 0, got {epoch}')
    if epoch >= warmup_epochs:
        return temp
    if warmup_epochs == 1:
        return warmup_temp
    return warmup_temp + (temp - warmup_temp) * epoch / (warmup_epochs - 1)
