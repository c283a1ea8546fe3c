from .target_momentum_hook import TargetMomentumHook

__all__ = ['TargetMomentumHook']
from .freeze_last_layer_hook import FreezeLastLayerHook
from .teacher_temp_warmup_hook import TeacherTempWarmupHook

__all__ += ['FreezeLastLayerHook', 'TeacherTempWarmupHook']
