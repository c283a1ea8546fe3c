"""Tiny SwAV models and multi-crop batches for the SwAV tests."""
import torch
from mmengine.model import BaseDataPreprocessor
from torch import nn

from ssl_plugins.models.algorithms import SwAV


class TinyBackbone(nn.Module):
    """Conv + global pool (no BN), records the shape of every call."""

    def __init__(self, channels: int = 16):
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3, padding=1)
        self.calls = []

    def forward(self, x):
        self.calls.append(tuple(x.shape))
        return (self.conv(x).relu().mean(dim=(2, 3)), )


def build_tiny_swav(feat_dim: int = 8, num_prototypes: int = 20,
                    seed: int = 0, **loss) -> SwAV:
    """SwAV over :class:`TinyBackbone` (16 channels), an MLP 16-32-feat_dim."""
    torch.manual_seed(seed)
    return SwAV(
        backbone=TinyBackbone(),
        neck=dict(type='MLPNeck', in_channels=16, hid_channels=32,
                  out_channels=feat_dim),
        head=dict(type='SwAVHead', feat_dim=feat_dim,
                  num_prototypes=num_prototypes,
                  loss=dict(type='SwAVLoss', **loss)),
        data_preprocessor=BaseDataPreprocessor())


def multicrop(batch: int = 4, num_global: int = 2, num_local: int = 3,
              seed: int = 0):
    """Random views: ``num_global`` of 16 px then ``num_local`` of 8 px."""
    g = torch.Generator().manual_seed(seed)
    return ([torch.randn(batch, 3, 16, 16, generator=g)
             for _ in range(num_global)] +
            [torch.randn(batch, 3, 8, 8, generator=g)
             for _ in range(num_local)])
