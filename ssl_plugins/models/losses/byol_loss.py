"""Registered wrapper of :func:`ssl_plugins.functional.byol.byol_loss`."""
import torch
from torch import nn

from ssl_plugins.functional.byol import byol_loss
from ssl_plugins.registry import MODELS


@MODELS.register_module()
class BYOLLoss(nn.Module):
    """``2 - 2 cos(q, sg(z'))`` averaged over the batch, in [0, 4]."""

    def forward(self, prediction: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
        return byol_loss(prediction, target)
