"""Registered wrapper of
:func:`ssl_plugins.functional.simsiam.negative_cosine_similarity`."""
import torch
from torch import nn

from ssl_plugins.functional.simsiam import negative_cosine_similarity
from ssl_plugins.registry import MODELS


@MODELS.register_module()
class SimSiamLoss(nn.Module):
    """SimSiam's ``D(p, sg(z)) = -cos(p, z)`` averaged over the batch, in
    [-1, 1]."""

    def forward(self, prediction: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
        return negative_cosine_similarity(prediction, target)
