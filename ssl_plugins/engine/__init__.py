# mmpretrain's engine populates the parents of our registries (LARS, hooks).
import mmpretrain.engine  # noqa: F401

from . import hooks  # noqa: F401,E402
from . import optimizers  # noqa: F401,E402
