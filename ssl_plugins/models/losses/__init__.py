from .byol_loss import BYOLLoss

__all__ = ['BYOLLoss']
from .barlow_twins_loss import BarlowTwinsLoss  # noqa: E402
from .simsiam_loss import SimSiamLoss  # noqa: E402
__all__ += ['BarlowTwinsLoss', 'SimSiamLoss']
from .swav_loss import SwAVLoss  # noqa: E402
__all__ += ['SwAVLoss']
