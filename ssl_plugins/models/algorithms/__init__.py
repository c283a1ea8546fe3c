from .barlow_twins import BarlowTwins
from .base import BaseSelfSupervisor, MultiCropSelfSupervisor
from .byol import BYOL
from .dino import DINO
from .simsiam import SimSiam
from .swav import SwAV

__all__ = [
    'BaseSelfSupervisor', 'MultiCropSelfSupervisor', 'BYOL', 'BarlowTwins',
    'SimSiam', 'SwAV', 'DINO'
]
