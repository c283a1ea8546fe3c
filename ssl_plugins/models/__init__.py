# mmpretrain's models populate the parent registry our MODELS falls back to.
import mmpretrain.models  # noqa: F401

from . import algorithms, heads, losses, necks, utils  # noqa: F401,E402
from . import backbones  # noqa: F401,E402
from . import data_preprocessors  # noqa: F401,E402
