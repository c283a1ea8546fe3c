from .dino_head import DINOHead
from .latent_predict_head import LatentPredictHead
from .swav_head import SwAVHead, swav_loss

__all__ = ['LatentPredictHead', 'SwAVHead', 'DINOHead', 'swav_loss']
