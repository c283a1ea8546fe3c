# (the modules, not their functions of the same names: each registers its
# config name on import)
from . import barlow_twins_loss, byol_loss, simsiam_loss  # noqa: F401
from .barlow_twins_loss import BarlowTwinsLoss

__all__ = ['BarlowTwinsLoss']
