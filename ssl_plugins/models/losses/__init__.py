from .byol_loss import BYOLLoss

__all__ = ['BYOLLoss']
from .barlow_twins_loss import BarlowTwinsLoss  # noqa: E402
from .simsiam_loss import SimSiamLoss  # noqa: E402
__all__ += ['BarlowTwinsLoss', 'SimSiamLoss']
from .dino_loss import DINOLoss  # noqa: E402
__all__ += ['DINOLoss']
