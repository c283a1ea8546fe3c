from .barlow_twins_loss import BarlowTwinsLoss
from .byol_loss import BYOLLoss
from .simsiam_loss import SimSiamLoss

__all__ = ['BYOLLoss', 'BarlowTwinsLoss', 'SimSiamLoss']
