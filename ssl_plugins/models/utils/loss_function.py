"""Loss configs that name a pure function (``loss=dict(type='BYOLLoss')``)."""
import functools
import inspect
from typing import Callable

from ssl_plugins.registry import MODELS


def build_loss_function(cfg: dict) -> Callable:
    """The loss function a config names, its other keys bound.

    The methods' loss functions are registered under their config names
    (``BYOLLoss``, ``SimSiamLoss``, ``SwAVLoss``: explicit aliases next to
    each function), so a head calls the function itself instead of a module
    that would only forward to it.

    Example:
        >>> fn = build_loss_function(dict(type='SwAVLoss', temperature=0.1))
        >>> fn.func.__name__, fn.keywords
        ('swav_loss', {'temperature': 0.1})
    """
    cfg = dict(cfg)
    name = cfg.pop('type')
    fn = MODELS.get(name) if isinstance(name, str) else name
    if fn is None:
        raise KeyError(f'loss type {name!r} is not registered')
    if inspect.isclass(fn) or not callable(fn):
        raise TypeError(f'loss type {name!r} must name a loss function '
                        f'(e.g. BYOLLoss), got {fn!r}')
    return functools.partial(fn, **cfg)
