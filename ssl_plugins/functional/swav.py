"""SwAV swapped-prediction loss (Caron et al. 2020).

The function lives with its head in
``ssl_plugins/models/heads/swav_head.py`` (SwAV's objective in one file);
this module keeps its import path.
"""
from ssl_plugins.models.heads.swav_head import swav_loss

__all__ = ['swav_loss']
