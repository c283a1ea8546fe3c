"""ssl_plugins: self-supervised pretraining (BYOL, SimSiam, Barlow Twins, SwAV,
DINO) as an OpenMMLab plugin with its own registry scope ``ssl_plugins``.

Importing the package applies the fixes for known upstream defects
(:mod:`ssl_plugins.compat`); the registries live in :mod:`ssl_plugins.registry`
and are populated lazily (``default_scope='ssl_plugins'``) or eagerly by
:func:`ssl_plugins.utils.register_all_modules`.
"""
from .compat import apply_compat_patches
from .version import __version__

apply_compat_patches()

__all__ = ['__version__', 'apply_compat_patches']
