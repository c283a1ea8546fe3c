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
from .freeze_last_layer_hook import FreezeLastLayerHook  # noqa: E402
from .teacher_temp_warmup_hook import TeacherTempWarmupHook  # noqa: E402

__all__ += ['FreezeLastLayerHook', 'TeacherTempWarmupHook']
