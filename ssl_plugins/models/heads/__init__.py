from .latent_predict_head import LatentPredictHead

__all__ = ['LatentPredictHead']
from .dino_head import DINOHead

__all__ += ['DINOHead']
