from .fixed_lr_hook import FixedLrHook
from .rng_state_hook import RNGStateHook
from .target_momentum_hook import TargetMomentumHook

__all__ = ['FixedLrHook', 'RNGStateHook', 'TargetMomentumHook']
