"""Eager registration of every ssl_plugins module (mmpretrain's convention)."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import all modules of ssl_plugins (and mmpretrain) so they register.

    Args:
        init_default_scope (bool): Also make ``ssl_plugins`` the current
            default scope, so ``type='BYOL'`` resolves to ours and
            ``type='ResNet'`` falls back to mmpretrain's. Defaults to True.
    """
    import mmpretrain.utils
    mmpretrain.utils.register_all_modules(init_default_scope=False)

    import ssl_plugins.datasets  # noqa: F401
    import ssl_plugins.engine  # noqa: F401
    import ssl_plugins.evaluation  # noqa: F401
    import ssl_plugins.models  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('ssl_plugins', scope_name='ssl_plugins')
    elif current.scope_name != 'ssl_plugins':
        warnings.warn(f'The current default scope "{current.scope_name}" is '
                      'not "ssl_plugins"; register_all_modules switches it '
                      'to "ssl_plugins".')
        DefaultScope.get_instance(
            f'ssl_plugins-{datetime.datetime.now()}', scope_name='ssl_plugins')
