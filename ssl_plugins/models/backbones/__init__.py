from .resnet10_cifar import ResNet10_CIFAR
from .vit_last_blocks import ViTLastBlocksClsToken

__all__ = ['ResNet10_CIFAR', 'ViTLastBlocksClsToken']
