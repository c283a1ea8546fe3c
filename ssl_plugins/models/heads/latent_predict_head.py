"""Predictor + regression loss on a target embedding (BYOL, SimSiam)."""
import torch
from mmengine.model import BaseModule

from ssl_plugins.registry import MODELS


@MODELS.register_module()
class LatentPredictHead(BaseModule):
    """``loss(predictor(online), target)``.

    Args:
        predictor (dict): the predictor MLP, e.g. ``MLPNeck``.
        loss (dict): e.g. ``BYOLLoss``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, predictor: dict, loss: dict, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.predictor = MODELS.build(predictor)
        self.loss_module = MODELS.build(loss)

    def loss(self, online: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of predicting ``target`` (gradient stopped) from ``online``."""
        return self.loss_module(self.predictor(online), target.detach())
