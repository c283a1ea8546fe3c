from .fixed_lr_hook import FixedLrHook
from .rng_state_hook import RNGStateHook
from .target_momentum_hook import TargetMomentumHook
from .collapse_monitor_hook import CollapseMonitorHook
from .knn_hook import KNNHook
from .swav_queue_hook import SwAVQueueHook
from .freeze_prototypes_hook import FreezePrototypesHook

__all__ = [
    'FixedLrHook', 'RNGStateHook', 'TargetMomentumHook',
    'CollapseMonitorHook', 'KNNHook', 'SwAVQueueHook', 'FreezePrototypesHook'
]
from .channels_last_hook import ChannelsLastHook  # noqa: E402

__all__ += ['ChannelsLastHook']
