from .channels_last_hook import ChannelsLastHook
from .fixed_lr_hook import FixedLrHook
from .rng_state_hook import RNGStateHook
from .target_momentum_hook import TargetMomentumHook

__all__ = ['ChannelsLastHook', 'FixedLrHook', 'RNGStateHook', 'TargetMomentumHook']
