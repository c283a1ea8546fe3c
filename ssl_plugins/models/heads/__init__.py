from .latent_predict_head import LatentPredictHead

__all__ = ['LatentPredictHead']
from .swav_head import SwAVHead  # noqa: E402
__all__ += ['SwAVHead']
from .dino_head import DINOHead  # noqa: E402

__all__ += ['DINOHead']
