from .bn_running_stats import frozen_running_stats
from .loss_function import build_loss_function
from .pretrained_init import (CheckpointMismatchError, PretrainedInit,
                              load_state_dict_exactly, select_prefix,
                              summarize_key_prefixes)
from .swav_queue import SwAVQueue

__all__ = [
    'PretrainedInit', 'frozen_running_stats', 'CheckpointMismatchError',
    'load_state_dict_exactly', 'select_prefix', 'summarize_key_prefixes',
    'build_loss_function', 'SwAVQueue'
]
