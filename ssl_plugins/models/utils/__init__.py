from .backbone_sources import (SOURCE_MODULES, SOURCE_PREFIXES,
                               backbone_module, backbone_state_dict,
                               model_state_dict, select_prefix, source_prefix,
                               summarize_key_prefixes)
from .bn_running_stats import frozen_running_stats
from .loss_function import build_loss_function
from .pooling import global_avg_pool
from .pretrained_init import (CheckpointMismatchError, PretrainedInit,
                              load_state_dict_exactly)
from .swav_queue import SwAVQueue

__all__ = [
    'PretrainedInit', 'frozen_running_stats', 'CheckpointMismatchError',
    'load_state_dict_exactly', 'select_prefix', 'summarize_key_prefixes',
    'SOURCE_MODULES', 'SOURCE_PREFIXES', 'backbone_module',
    'backbone_state_dict', 'model_state_dict', 'source_prefix',
    'global_avg_pool', 'build_loss_function', 'SwAVQueue'
]
