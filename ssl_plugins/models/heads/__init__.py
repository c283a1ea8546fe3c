from .latent_predict_head import LatentPredictHead

__all__ = ['LatentPredictHead']
