from .target_momentum_hook import TargetMomentumHook

__all__ = ['TargetMomentumHook']
from .swav_queue_hook import SwAVQueueHook  # noqa: F401
from .freeze_prototypes_hook import FreezePrototypesHook  # noqa: F401
