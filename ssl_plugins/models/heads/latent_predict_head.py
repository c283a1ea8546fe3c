"""Predictor + a regression loss over view pairs (BYOL, SimSiam)."""
from typing import List

import torch
from mmengine.model import BaseModule

from ssl_plugins.functional.multi_crop import global_view_pairs
from ssl_plugins.registry import MODELS
from ..utils.loss_function import build_loss_function


@MODELS.register_module()
class LatentPredictHead(BaseModule):
    """Owns the predictor; :meth:`loss` averages ``loss(q_v, sg(z_g))``
    over every view ``v`` and every global view ``g != v``.

    The algorithm applies :attr:`predictor` (with its own view grouping, see
    ``MultiCropSelfSupervisor.project_views``) and passes the predictions
    of all views and the targets of the global views. Two views give the
    symmetrised two-view loss ``(l(q_1, z_2) + l(q_2, z_1)) / 2``.

    Args:
        predictor (dict): the predictor MLP, e.g. ``MLPNeck``.
        loss (dict): the loss function by its config name and keyword
            arguments: ``BYOLLoss`` (``models/losses/byol_loss.py``) or
            ``SimSiamLoss`` (``models/losses/simsiam_loss.py``).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, predictor: dict, loss: dict, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.predictor = MODELS.build(predictor)
        self.loss_fn = build_loss_function(loss)

    def loss(self, predictions: List[torch.Tensor],
             targets: List[torch.Tensor]) -> torch.Tensor:
        """Mean over the pairs of ``global_view_pairs(len(predictions),
        len(targets))``; the targets' gradient is stopped."""
        pairs = global_view_pairs(len(predictions), len(targets))
        return sum(self.loss_fn(predictions[v], targets[g].detach())
                   for v, g in pairs) / len(pairs)
