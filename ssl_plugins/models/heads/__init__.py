from .dino_head import DINOHead, DINOLoss, dino_loss
from .latent_predict_head import LatentPredictHead
from .swav_head import SwAVHead, swav_loss

__all__ = [
    'LatentPredictHead', 'SwAVHead', 'DINOHead', 'DINOLoss', 'dino_loss',
    'swav_loss'
]
