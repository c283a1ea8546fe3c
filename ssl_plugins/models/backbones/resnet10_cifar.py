"""ResNet-10 with the CIFAR stem: one BasicBlock per stage."""
from typing import Optional, Sequence

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

    Args:
        depth (int): 10.
        stage_channels (Sequence[int], optional): output channels of each
            stage, overriding ``base_channels * 2**i``. A wider last stage
            gives a higher-dimensional representation at little cost: at
            2x2 pixels (28 px input, four stride-2 stages) it is the
            cheapest stage per channel.
        **kwargs: arguments of ``ResNet_CIFAR``.

    Example:
        >>> backbone = dict(type='ResNet10_CIFAR', stem_channels=16,
        ...                 base_channels=16, strides=(2, 2, 2, 2),
        ...                 stage_channels=(16, 32, 64, 256))
    """

    arch_settings = {10: (BasicBlock, (1, 1, 1, 1))}

    def __init__(self, depth: int = 10,
                 stage_channels: Optional[Sequence[int]] = None, **kwargs):
        num_stages = kwargs.get('num_stages', 4)
        if stage_channels is not None:
            stage_channels = tuple(int(c) for c in stage_channels)
            if len(stage_channels) != num_stages or min(stage_channels) < 1:
                raise ValueError(
                    f'ResNet10_CIFAR: stage_channels must hold {num_stages} '
                    f'positive channel counts, got {stage_channels}')
        self._stage_channels = stage_channels
        self._stages_built = 0
        super().__init__(depth, **kwargs)

    def make_res_layer(self, **kwargs):
        """Stage ``i`` with ``stage_channels[i]`` outputs when given."""
        if self._stage_channels is not None:
            i = self._stages_built
            if i > 0:
                kwargs['in_channels'] = self._stage_channels[i - 1]
            kwargs['out_channels'] = self._stage_channels[i]
        self._stages_built += 1
        return super().make_res_layer(**kwargs)
