from .target_momentum_hook import TargetMomentumHook

__all__ = ['TargetMomentumHook']
