from .base import BaseSelfSupervisor, MultiCropSelfSupervisor
from .byol import BYOL

__all__ = ['BaseSelfSupervisor', 'MultiCropSelfSupervisor', 'BYOL']
from .barlow_twins import BarlowTwins  # noqa: E402
from .simsiam import SimSiam  # noqa: E402
__all__ += ['BarlowTwins', 'SimSiam']
from .swav import SwAV  # noqa: E402
__all__ += ['SwAV']
from .dino import DINO  # noqa: E402
__all__ += ['DINO']
