"""``collate_fn`` / ``worker_init_fn`` inherited from another package's config.

mmengine gives every outermost dict with a ``type`` key of a config read from
another package (``_base_ = 'mmpretrain::...'``) the key ``_scope_`` naming
that package, so that registries build the dict in the right scope. The
registries drop the key; ``Runner.build_dataloader`` does not. It resolves
``collate_fn=dict(type='default_collate')`` and ``worker_init_fn`` with
``FUNCTIONS.get(type)`` and binds every other key with ``functools.partial``,
``_scope_`` included, so the first batch of every self-supervised config of
mmpretrain inherited that way fails with ``default_collate() got an
unexpected keyword argument '_scope_'``.

:func:`patch_scoped_dataloader_functions` wraps ``build_dataloader`` of
mmengine's ``Runner`` and ``FlexibleRunner``: the ``_scope_`` of those two
dicts is removed and, as a registry would, the function is looked up in that
scope's ``FUNCTIONS`` registry (falling back to mmengine's root registry,
which holds ``default_collate`` / ``pseudo_collate``; mmpretrain has no
``FUNCTIONS`` registry of its own). Dicts without ``_scope_`` and anything
that is not a dict reach mmengine unchanged.
"""
import copy
from importlib import import_module
from typing import Any, Callable, Optional

from mmengine.registry import FUNCTIONS, Registry

_MARK = '_ssl_plugins_scoped_functions'
_FUNCTION_KEYS = ('collate_fn', 'worker_init_fn')


def _functions_registry(scope: str) -> Registry:
    """The ``FUNCTIONS`` registry of ``scope``, else mmengine's root one.

    Args:
        scope (str): A registry scope such as ``'mmpretrain'``.

    Returns:
        Registry: The registry in which to look a function up.
    """
    try:  # the package registers its child registries on import
        import_module(f'{scope}.registry')
    except (ImportError, AttributeError):
        pass
    return FUNCTIONS._search_child(scope) or FUNCTIONS


def resolve_function_scope(cfg: Any, keep_name: bool = False) -> Any:
    """A ``collate_fn`` / ``worker_init_fn`` config without ``_scope_``.

    Args:
        cfg (Any): The config entry. Only a dict with a ``_scope_`` key is
            changed.
        keep_name (bool): Leave a string ``type`` as it is instead of
            replacing it by the function found in the scope (for a builder
            that accepts only names). Defaults to False.

    Returns:
        Any: ``cfg`` itself, or a copy without ``_scope_`` whose string
        ``type`` is the function registered under that name in the scope.
    """
    if not isinstance(cfg, dict) or '_scope_' not in cfg:
        return cfg
    cfg = copy.copy(cfg)
    scope = cfg.pop('_scope_')
    fn_type = cfg.get('type')
    if scope and isinstance(fn_type, str) and not keep_name:
        try:
            function: Optional[Callable] = _functions_registry(scope).get(
                fn_type)
        except RuntimeError:  # unknown there: mmengine reports it as before
            function = None
        if function is not None:
            cfg['type'] = function
    return cfg


def resolve_dataloader_function_scopes(dataloader: Any,
                                       keep_names: tuple = ()) -> Any:
    """A dataloader config whose function entries have no ``_scope_`` key.

    Args:
        dataloader (Any): ``train_dataloader``-style dict, or a built
            ``DataLoader`` (returned unchanged).
        keep_names (tuple): Keys among ``collate_fn`` / ``worker_init_fn``
            whose ``type`` must stay a string.

    Returns:
        Any: ``dataloader`` itself when nothing needs changing, else a
        shallow copy with resolved ``collate_fn`` / ``worker_init_fn``.
    """
    if not isinstance(dataloader, dict) or not any(
            isinstance(dataloader.get(k), dict) and '_scope_' in dataloader[k]
            for k in _FUNCTION_KEYS):
        return dataloader
    dataloader = copy.copy(dataloader)
    for key in _FUNCTION_KEYS:
        if key in dataloader:
            dataloader[key] = resolve_function_scope(
                dataloader[key], keep_name=key in keep_names)
    return dataloader


def _wrap(runner_cls: type, keep_names: tuple) -> None:
    """Replace ``runner_cls.build_dataloader`` (a staticmethod) by a wrapper.

    Args:
        runner_cls (type): ``Runner`` or ``FlexibleRunner``.
        keep_names (tuple): Passed to
            :func:`resolve_dataloader_function_scopes`.
    """
    original = runner_cls.__dict__['build_dataloader']
    function = getattr(original, '__func__', original)
    if getattr(function, _MARK, False):
        return

    def build_dataloader(dataloader, *args, **kwargs):
        return function(
            resolve_dataloader_function_scopes(dataloader, keep_names), *args,
            **kwargs)

    build_dataloader.__doc__ = function.__doc__
    setattr(build_dataloader, _MARK, True)
    runner_cls.build_dataloader = staticmethod(build_dataloader)


def patch_scoped_dataloader_functions() -> None:
    """Let ``build_dataloader`` accept ``collate_fn`` dicts with ``_scope_``.

    Idempotent. ``FlexibleRunner`` resolves ``worker_init_fn`` by name only,
    so there the name is kept (and only ``_scope_`` removed).
    """
    from mmengine.runner import Runner
    _wrap(Runner, keep_names=())
    try:
        from mmengine.runner import FlexibleRunner
    except ImportError:  # older mmengine
        return
    _wrap(FlexibleRunner, keep_names=('worker_init_fn', ))
