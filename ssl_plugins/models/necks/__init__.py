from .mlp_neck import MLPNeck

__all__ = ['MLPNeck']
from .dino_neck import DINONeck  # noqa: E402

__all__ += ['DINONeck']
from .normalized_pooling import NormalizedGlobalPooling  # noqa: E402

__all__ += ['NormalizedGlobalPooling']
