from .target_momentum_hook import TargetMomentumHook

__all__ = ['TargetMomentumHook']
from .fixed_lr_hook import FixedLrHook  # noqa: E402
__all__ += ['FixedLrHook']
