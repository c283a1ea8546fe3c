"""BYOL's regression loss (Grill et al., 2020, eq. 2).

The function lives with its config name in
``ssl_plugins/models/losses/byol_loss.py`` (BYOL's objective in one file);
this module keeps its import path.
"""
from ssl_plugins.models.losses.byol_loss import byol_loss

__all__ = ['byol_loss']
