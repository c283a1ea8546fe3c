from .latent_predict_head import LatentPredictHead

__all__ = ['LatentPredictHead']
from .swav_head import SwAVHead  # noqa: F401
