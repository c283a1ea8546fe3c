from .base import BaseSelfSupervisor
from .byol import BYOL

__all__ = ['BaseSelfSupervisor', 'BYOL']
from .swav import SwAV  # noqa: F401
