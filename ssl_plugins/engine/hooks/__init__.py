from .target_momentum_hook import TargetMomentumHook
from .collapse_monitor_hook import CollapseMonitorHook
from .knn_hook import KNNHook

__all__ = ['TargetMomentumHook', 'CollapseMonitorHook', 'KNNHook']
