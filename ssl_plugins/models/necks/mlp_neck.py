"""The projector/predictor MLP shared by BYOL, SimSiam, Barlow Twins, SwAV."""
from typing import Optional, Sequence, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from ssl_plugins.registry import MODELS
from ..utils.pooling import global_avg_pool


@MODELS.register_module()
class MLPNeck(BaseModule):
    """``num_layers`` of Linear (+BN +ReLU) on pooled backbone features.

    Every hidden layer is Linear -> BN -> ReLU; the last layer is Linear,
    optionally followed by BN (``with_last_bn``, SimSiam's projector).
    BYOL's projector and predictor: 2 layers, 4096 hidden, 256 out, no last BN
    (Grill et al. 2020, §3.3).

    Args:
        in_channels (int): Input features (backbone channels).
        hid_channels (int): Hidden width.
        out_channels (int): Output width.
        num_layers (int): Linear layers (>= 1). Defaults to 2.
        with_bias (bool): Biases of the hidden Linear layers. Defaults to True.
        with_last_bias (bool): Bias of the last Linear. Defaults to True.
        with_last_bn (bool): BN after the last Linear. Defaults to False.
        with_last_bn_affine (bool): Affine parameters of that BN.
        with_avg_pool (bool): Global-average-pool 4-D inputs. Defaults to True.
        norm_cfg (dict): BN of the hidden layers; ``BN1d`` (works on CPU and
            GPU; use ``SyncBN`` + ``sync_bn`` for multi-GPU statistics).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int,
                 out_channels: int,
                 num_layers: int = 2,
                 with_bias: bool = True,
                 with_last_bias: bool = True,
                 with_last_bn: bool = False,
                 with_last_bn_affine: bool = True,
                 with_avg_pool: bool = True,
                 norm_cfg: dict = dict(type='BN1d'),
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'MLPNeck: num_layers must be >= 1, got '
                             f'{num_layers}')
        self.in_channels = in_channels
        self.with_avg_pool = with_avg_pool
        layers = []
        dims = [in_channels] + [hid_channels] * (num_layers - 1)
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            layers += [
                nn.Linear(d_in, d_out, bias=with_bias),
                MODELS.build(dict(norm_cfg, num_features=d_out)),
                nn.ReLU(inplace=True)
            ]
        layers.append(nn.Linear(dims[-1], out_channels, bias=with_last_bias))
        if with_last_bn:
            layers.append(
                MODELS.build(
                    dict(norm_cfg, num_features=out_channels,
                         affine=with_last_bn_affine)))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: Union[torch.Tensor, Sequence[torch.Tensor]]
                ) -> torch.Tensor:
        """Project a backbone output (tensor, or tuple whose last is used)."""
        if isinstance(x, (tuple, list)):
            x = x[-1]
        if self.with_avg_pool:
            x = global_avg_pool(x)
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'MLPNeck expects (N, {self.in_channels}) features (or '
                f'(N, {self.in_channels}, H, W) with with_avg_pool), got '
                f'{tuple(x.shape)}; check in_channels against the backbone.')
        return self.mlp(x)
