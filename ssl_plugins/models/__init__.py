# mmpretrain's models populate the parent registry our MODELS falls back to.
import mmpretrain.models  # noqa: F401

from . import (algorithms, backbones, data_preprocessors, heads,  # noqa: F401
               losses, necks, utils)
