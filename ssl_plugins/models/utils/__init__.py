from .momentum_target import MomentumTarget
from .pretrained_init import (CheckpointMismatchError, PretrainedInit,
                              load_state_dict_exactly, select_prefix,
                              summarize_key_prefixes)

__all__ = [
    'MomentumTarget', 'PretrainedInit', 'CheckpointMismatchError',
    'load_state_dict_exactly', 'select_prefix', 'summarize_key_prefixes'
]
