# mmpretrain's metrics and visualisers populate our parent registries.
import mmpretrain.evaluation  # noqa: F401
import mmpretrain.visualization  # noqa: F401

from .bn_recalibration import recalibrate_bn  # noqa: E402
from .feature_extraction import extract_features, pixel_features  # noqa: E402
from .linear_probe import linear_probe  # noqa: E402
from .splits import probe_splits  # noqa: E402

__all__ = ['extract_features', 'linear_probe', 'pixel_features',
           'probe_splits', 'recalibrate_bn']
