"""``clip_grad=dict(type='per_param', max_norm=...)`` for every OptimWrapper.

mmengine's ``OptimWrapper.__init__`` knows two clipping types, ``'norm'``
(one global norm) and ``'value'``, and raises for anything else; there is no
registry to add one. DINO clips each parameter's gradient norm on its own
(:func:`ssl_plugins.functional.grad_clip.clip_grad_norm_per_param_`). We wrap
``OptimWrapper.__init__`` so that ``type='per_param'`` builds the wrapper as
for ``'norm'`` and then swaps the clipping function. Every subclass inherits
it: ``AmpOptimWrapper`` (and ``tools/train.py --amp``) unscales the gradients
before clipping, ``AutocastOptimWrapper`` has nothing to unscale, and
mmengine logs the returned pre-clipping global norm as ``grad_norm``. Other
``clip_grad`` values reach mmengine unchanged.
"""
import functools
from typing import Optional

PER_PARAM = 'per_param'
#: Keyword arguments of ``clip_grad_norm_per_param_`` besides the parameters.
_ARGUMENTS = ('max_norm', 'eps')


def patch_per_param_clip_grad() -> None:
    """Teach ``mmengine.optim.OptimWrapper`` ``clip_grad`` type
    ``'per_param'``.

    Idempotent. The wrapped ``__init__`` has mmengine's signature.

    Raises (when a wrapper is built):
        ValueError: ``type='per_param'`` with an argument other than
            ``max_norm`` / ``eps``, or without ``max_norm``.
    """
    from mmengine.optim import OptimWrapper

    from ssl_plugins.functional.grad_clip import clip_grad_norm_per_param_

    original = OptimWrapper.__init__
    if getattr(original, '_ssl_plugins_per_param', False):
        return

    @functools.wraps(original)
    def __init__(self,
                 optimizer,
                 accumulative_counts: int = 1,
                 clip_grad: Optional[dict] = None):
        per_param = (isinstance(clip_grad, dict)
                     and clip_grad.get('type') == PER_PARAM)
        if per_param:
            kwargs = {k: v for k, v in clip_grad.items() if k != 'type'}
            unknown = sorted(set(kwargs) - set(_ARGUMENTS))
            if unknown or 'max_norm' not in kwargs:
                raise ValueError(
                    f"clip_grad type '{PER_PARAM}' takes max_norm (required) "
                    f'and eps; got {sorted(kwargs)}')
            clip_grad = kwargs
        original(self, optimizer, accumulative_counts=accumulative_counts,
                 clip_grad=clip_grad)
        if per_param:
            self.clip_func = clip_grad_norm_per_param_
            self.grad_name = 'grad_norm'

    __init__._ssl_plugins_per_param = True
    OptimWrapper.__init__ = __init__
