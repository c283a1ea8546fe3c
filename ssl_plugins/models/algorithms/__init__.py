from .base import BaseSelfSupervisor
from .byol import BYOL

__all__ = ['BaseSelfSupervisor', 'BYOL']
from .dino import DINO

__all__ += ['DINO']
