"""ResNet-10 with the CIFAR stem: one BasicBlock per stage."""
from mmpretrain.models.backbones.resnet import BasicBlock
from mmpretrain.models.backbones.resnet_cifar import ResNet_CIFAR

from ssl_plugins.registry import MODELS


@MODELS.register_module()
class ResNet10_CIFAR(ResNet_CIFAR):
    """mmpretrain's ``ResNet_CIFAR`` (3x3 stride-1 stem, no max-pool) with
    one ``BasicBlock`` per stage instead of ResNet-18's two.

    For the CPU configs: at half of ResNet-18's cost per image it trains
    twice the iterations in a fixed wall-clock budget, and a 10-minute run
    on Fashion-MNIST beats its random initialisation where ResNet-18 does
    not (docs/benchmarks.md). Same arguments and checkpoint key layout as
    ``ResNet_CIFAR`` (``layer{1-4}.0.*``); ``depth`` can only be 10.

    Example:
        >>> backbone = dict(type='ResNet10_CIFAR', stem_channels=16,
        ...                 base_channels=16, strides=(2, 2, 2, 2))
    """

    arch_settings = {10: (BasicBlock, (1, 1, 1, 1))}

    def __init__(self, depth: int = 10, **kwargs):
        super().__init__(depth, **kwargs)
