"""Barlow Twins loss over the global batch (Zbontar et al. 2021, eq. 1 and
official code).

The loss lives with its module in
``ssl_plugins/models/losses/barlow_twins_loss.py`` (Barlow Twins' objective in
one file), the global-batch statistics in :mod:`.global_batch_stats`; this
module keeps their import paths.
"""
from ssl_plugins.models.losses.barlow_twins_loss import (BARLOW_TWINS_LAMBDA,
                                                         barlow_twins_loss)
from .global_batch_stats import (cross_correlation, global_batch_norm,
                                 global_batch_size)

__all__ = [
    'global_batch_size', 'global_batch_norm', 'cross_correlation',
    'barlow_twins_loss', 'BARLOW_TWINS_LAMBDA'
]
