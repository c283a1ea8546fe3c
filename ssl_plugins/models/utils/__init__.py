from .momentum_target import MomentumTarget

__all__ = ['MomentumTarget']
