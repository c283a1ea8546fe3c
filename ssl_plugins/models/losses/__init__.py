from .byol_loss import BYOLLoss

__all__ = ['BYOLLoss']
