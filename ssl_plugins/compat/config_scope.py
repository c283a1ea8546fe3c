"""Our configs' model and datasets are built in our scope by every tool.

mmpretrain's tools/train.py and tools/test.py build a config through
mmengine's ``Runner``, which sets the config's ``default_scope``. Others
ignore it and force mmpretrain's scope: ``tools/visualization/
browse_dataset.py`` calls ``init_default_scope('mmpretrain')`` before
building ``<phase>_dataloader.dataset``, and ``mmpretrain.get_model`` (used by
``tools/analysis_tools/get_flops.py``, the inferencers, ``vis_cam.py``)
builds ``model`` under ``DefaultScope.overwrite_default_scope('mmpretrain')``.
In that scope our names are unknown (``ResNet10_CIFAR``, ``MultiCrop``) or
name mmpretrain's own classes (``FashionMNIST``, ``BYOL``), so those tools
failed on our configs even with ``custom_imports`` importing us.

mmengine's own answer to "build this dict in that scope" is the ``_scope_``
key (what it adds to configs inherited from another package,
``_base_ = 'mmpretrain::...'``): the registry switches the default scope for
the whole build, nested dicts (backbone, pipeline transforms) included.
:func:`patch_config_scope` wraps ``Config.__init__``: in a config whose
``default_scope`` is ``'ssl_plugins'``, the outermost typed dict of ``model``
and of each ``train/val/test_dataloader.dataset`` gets
``_scope_='ssl_plugins'`` unless it already has a ``_scope_`` (sections
inherited from ``mmpretrain::`` keep theirs). Our scope reaches mmpretrain's
and mmengine's classes too, so for a ``Runner`` (whose default scope is
already ``'ssl_plugins'``) nothing changes. Only these two kinds of dict are
marked: they are the ones the scope-forcing tools build, and always through a
registry (browse_dataset.py, for one, passes ``visualizer``'s keys straight to
a constructor).

``Config.fromfile`` imports ``custom_imports`` before it creates the
``Config``, so the wrapper is in place for the config that imports us.
"""
from typing import Any

from mmengine.config import Config

SCOPE = 'ssl_plugins'
_MARK = '_ssl_plugins_config_scope'
_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _mark(cfg: Any) -> None:
    """Give ``cfg`` (a typed dict without ``_scope_``) our scope, in place.

    Args:
        cfg (Any): A config entry; anything but a dict with a ``type`` key
            and no ``_scope_`` is left alone.
    """
    if isinstance(cfg, dict) and 'type' in cfg and '_scope_' not in cfg:
        cfg['_scope_'] = SCOPE


def mark_config_scope(cfg: Config) -> Config:
    """Add ``_scope_='ssl_plugins'`` to ``model`` and the datasets of ``cfg``.

    Only for a config whose ``default_scope`` is ``'ssl_plugins'``;
    idempotent.

    Args:
        cfg (Config): The config, changed in place.

    Returns:
        Config: ``cfg``.
    """
    if cfg.get('default_scope') != SCOPE:
        return cfg
    _mark(cfg.get('model'))
    for key in _LOADERS:
        loader = cfg.get(key)
        if isinstance(loader, dict):
            _mark(loader.get('dataset'))
    return cfg


def patch_config_scope() -> None:
    """Mark every ``Config`` created from now on (idempotent)."""
    original = Config.__init__
    if getattr(original, _MARK, False):
        return

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        mark_config_scope(self)

    __init__.__doc__ = original.__doc__
    setattr(__init__, _MARK, True)
    Config.__init__ = __init__
