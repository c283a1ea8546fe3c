from .atomic_checkpoint_hook import AtomicCheckpointHook
from .channels_last_hook import ChannelsLastHook
from .collapse_monitor_hook import CollapseMonitorHook
from .dino_teacher_centering_hook import DINOTeacherCenteringHook
from .divergence_guard_hook import DivergenceGuardHook
from .fixed_lr_hook import FixedLrHook
from .freeze_last_layer_hook import FreezeLastLayerHook
from .freeze_prototypes_hook import FreezePrototypesHook
from .heartbeat_hook import HeartbeatHook
from .knn_hook import KNNHook
from .mid_epoch_resume_hook import MidEpochResumeHook
from .plain_checkpoint_hook import PlainCheckpointHook
from .rng_state_hook import RNGStateHook
from .swav_queue_hook import SwAVQueueHook
from .target_momentum_hook import TargetMomentumHook
from .teacher_temp_warmup_hook import TeacherTempWarmupHook
from .throughput_hook import ThroughputHook
from .time_budget_hook import TimeBudgetHook

__all__ = [
    'AtomicCheckpointHook', 'ChannelsLastHook', 'CollapseMonitorHook',
    'DINOTeacherCenteringHook', 'DivergenceGuardHook',
    'FixedLrHook', 'HeartbeatHook',
    'FreezeLastLayerHook', 'FreezePrototypesHook', 'KNNHook',
    'MidEpochResumeHook', 'PlainCheckpointHook', 'RNGStateHook',
    'SwAVQueueHook', 'TargetMomentumHook', 'TeacherTempWarmupHook',
    'ThroughputHook', 'TimeBudgetHook'
]
