from .dino_head import DINOHead
from .latent_predict_head import LatentPredictHead
from .swav_head import SwAVHead

__all__ = ['LatentPredictHead', 'SwAVHead', 'DINOHead']
