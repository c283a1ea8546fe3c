from .byol_loss import BYOLLoss

__all__ = ['BYOLLoss']
from .dino_loss import DINOLoss

__all__ += ['DINOLoss']
