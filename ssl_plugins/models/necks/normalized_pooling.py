"""Global average pooling + affine-free BN: the input of a linear probe."""
from typing import Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from ssl_plugins.registry import MODELS
from ..utils.pooling import global_avg_pool


@MODELS.register_module()
class NormalizedGlobalPooling(BaseModule):
    """Global average pooling, then ``BatchNorm1d(affine=False)``.

    A linear classifier trained by SGD on raw pooled features underfits when
    their scales differ across channels (the ReLU features of a
    self-supervised backbone do, by orders of magnitude). Standardising them
    first is MAE's linear-probe recipe (He et al. 2022, App. A.2: "an extra
    BatchNorm layer without affine transformation" before the classifier);
    in eval mode it uses the running statistics of the train features, so
    the probe is the logistic regression on standardised features that
    ``ssl_plugins.evaluation.linear_probe`` fits on cached features.

    Args:
        in_channels (int): channels of the last backbone stage.
        momentum (float): BN running-statistics momentum. Defaults to 0.1.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, in_channels: int, momentum: float = 0.1,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.bn = nn.BatchNorm1d(in_channels, affine=False,
                                 momentum=momentum)

    def forward(self, inputs: Union[torch.Tensor, Tuple[torch.Tensor]]
                ) -> Tuple[torch.Tensor]:
        """Pooled, standardised features of the last input map, as a
        1-tuple (mmpretrain's neck convention)."""
        x = inputs[-1] if isinstance(inputs, (tuple, list)) else inputs
        return (self.bn(global_avg_pool(x)), )
