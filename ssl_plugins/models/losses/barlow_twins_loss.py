"""Registered wrapper of
:func:`ssl_plugins.functional.barlow_twins.barlow_twins_loss`."""
import torch
from torch import nn

from ssl_plugins.functional.barlow_twins import (BARLOW_TWINS_LAMBDA,
                                                 barlow_twins_loss)
from ssl_plugins.registry import MODELS


@MODELS.register_module()
class BarlowTwinsLoss(nn.Module):
    """Barlow Twins' ``sum_i (1 - C_ii)^2 + lambda sum_{i != j} C_ij^2``
    over the global batch.

    Includes the projector's final ``BatchNorm1d(affine=False)`` (over the
    global batch, differentiably across ranks), so the projector itself ends
    with its last Linear layer.

    Args:
        lambd (float): off-diagonal weight. Defaults to 0.0051 (official code).
        eps (float): BatchNorm epsilon. Defaults to 1e-5.
    """

    def __init__(self, lambd: float = BARLOW_TWINS_LAMBDA, eps: float = 1e-5):
        super().__init__()
        if lambd < 0:
            raise ValueError(
                f'BarlowTwinsLoss: lambd must be >= 0, got {lambd}')
        self.lambd = lambd
        self.eps = eps

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return barlow_twins_loss(z1, z2, lambd=self.lambd, eps=self.eps)
