from .mlp_neck import MLPNeck

__all__ = ['MLPNeck']
from .dino_neck import DINONeck

__all__ += ['DINONeck']
