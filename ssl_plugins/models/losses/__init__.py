from .byol_loss import BYOLLoss

__all__ = ['BYOLLoss']
from .swav_loss import SwAVLoss  # noqa: F401
