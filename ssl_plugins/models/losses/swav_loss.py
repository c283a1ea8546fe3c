"""Registered wrapper of :func:`ssl_plugins.functional.swav.swav_loss`."""
from typing import Optional, Sequence

import torch
from torch import nn

from ssl_plugins.functional.swav import swav_loss
from ssl_plugins.registry import MODELS


@MODELS.register_module()
class SwAVLoss(nn.Module):
    """SwAV swapped prediction on per-view prototype scores.

    Codes of the views in ``crops_for_assign`` come from the distributed
    Sinkhorn-Knopp (over the global batch, fp32); every other view predicts
    them with a softmax at ``temperature``. Defaults are the official
    ``main_swav.py`` ones (Caron et al. 2020).

    Args:
        crops_for_assign (Sequence[int]): views whose codes are computed.
            Defaults to (0, 1), the two global crops.
        temperature (float): prediction temperature. Defaults to 0.1.
        epsilon (float): Sinkhorn-Knopp regularisation. Defaults to 0.05.
        num_iters (int): Sinkhorn-Knopp iterations. Defaults to 3.
    """

    def __init__(self,
                 crops_for_assign: Sequence[int] = (0, 1),
                 temperature: float = 0.1,
                 epsilon: float = 0.05,
                 num_iters: int = 3):
        super().__init__()
        if not crops_for_assign:
            raise ValueError('SwAVLoss: crops_for_assign must not be empty')
        self.crops_for_assign = tuple(int(c) for c in crops_for_assign)
        self.temperature = temperature
        self.epsilon = epsilon
        self.num_iters = num_iters

    def forward(self,
                scores: Sequence[torch.Tensor],
                queue_scores: Optional[Sequence[Optional[torch.Tensor]]] = None
                ) -> torch.Tensor:
        """Loss of the per-view ``(B, K)`` scores (queue only for codes)."""
        return swav_loss(scores, self.crops_for_assign, self.temperature,
                         self.epsilon, self.num_iters, queue_scores)
