from .latent_predict_head import LatentPredictHead

__all__ = ['LatentPredictHead']
from .swav_head import SwAVHead  # noqa: E402
__all__ += ['SwAVHead']
