"""DINO projection head (official ``DINOHead``), used here as a neck."""
from typing import List

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from ssl_plugins.registry import MODELS
from ..utils.pooling import global_avg_pool


@MODELS.register_module()
class DINONeck(BaseModule):
    """MLP -> L2 normalisation -> weight-normalised linear layer.

    Caron et al. 2021, §3.1 and official ``vision_transformer.DINOHead``: a
    ``num_layers``-layer MLP (hidden 2048, GELU, no BN by default) down to a
    256-d bottleneck, L2-normalised, then a weight-normalised linear layer
    without bias to ``out_channels`` (65536) whose norm ``g`` is fixed to 1
    when ``norm_last_layer`` (official default, stabilises training).

    Linear weights are initialised truncated-normal (std 0.02), biases 0, as
    in the official ``_init_weights``.

    Args:
        in_channels (int): backbone feature size (384 for ViT-S, 2048 for
            ResNet-50).
        out_channels (int): K, the output dimension. Defaults to 65536.
        hidden_channels (int): MLP hidden size. Defaults to 2048.
        bottleneck_channels (int): size before the last layer. Defaults to 256.
        num_layers (int): number of MLP linear layers (>= 1). Defaults to 3.
        use_bn (bool): BatchNorm1d after the hidden linears (official
            ``use_bn_in_head``, off by default).
        norm_last_layer (bool): fix the last layer's weight norm to 1.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 65536,
                 hidden_channels: int = 2048,
                 bottleneck_channels: int = 256,
                 num_layers: int = 3,
                 use_bn: bool = False,
                 norm_last_layer: bool = True,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'DINONeck: num_layers must be >= 1, got '
                             f'{num_layers}')
        dims = [in_channels] + [hidden_channels] * (num_layers - 1)
        layers = []
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            layers.append(nn.Linear(d_in, d_out))
            if use_bn:
                layers.append(nn.BatchNorm1d(d_out))
            layers.append(nn.GELU())
        layers.append(nn.Linear(dims[-1], bottleneck_channels))
        self.mlp = nn.Sequential(*layers)
        for m in self.mlp.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        self.last_layer = weight_norm(
            nn.Linear(bottleneck_channels, out_channels, bias=False))
        g = self.last_layer.parametrizations.weight.original0
        with torch.no_grad():
            g.fill_(1.0)
        g.requires_grad_(not norm_last_layer)
        self.norm_last_layer = norm_last_layer

    def last_layer_parameters(self) -> List[nn.Parameter]:
        """Parameters of the last layer (frozen during the first epoch)."""
        return list(self.last_layer.parameters())

    def forward(self, x):
        """Project backbone features.

        Args:
            x (Tensor | tuple[Tensor]): ``(N, in_channels)`` features or
                ``(N, in_channels, H, W)`` maps (global-average pooled, as
                the official ResNet's ``avgpool``), or mmpretrain's backbone
                output tuple (the last item is used).

        Returns:
            Tensor: ``(N, out_channels)`` logits.
        """
        if isinstance(x, (tuple, list)):
            x = x[-1]
        x = F.normalize(self.mlp(global_avg_pool(x)), dim=-1, p=2)
        return self.last_layer(x)
