"""SimSiam loss and collapse monitor (Chen & He 2021, Algorithm 1 and Fig. 2).

The loss functions live with their config name in
``ssl_plugins/models/losses/simsiam_loss.py`` (SimSiam's objective in one
file); this module keeps their import path.
"""
# The collapse statistic of Fig. 2 lives with the other collapse diagnostics.
from ssl_plugins.models.losses.simsiam_loss import (negative_cosine_similarity,
                                                    simsiam_loss)
from .collapse import normalized_embedding_std as normalized_output_std

__all__ = [
    'negative_cosine_similarity', 'simsiam_loss', 'normalized_output_std'
]
