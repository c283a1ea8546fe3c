from .base import BaseSelfSupervisor
from .byol import BYOL

__all__ = ['BaseSelfSupervisor', 'BYOL']
from .barlow_twins import BarlowTwins  # noqa: E402
from .simsiam import SimSiam  # noqa: E402
__all__ += ['BarlowTwins', 'SimSiam']
from .swav import SwAV  # noqa: E402
__all__ += ['SwAV']
