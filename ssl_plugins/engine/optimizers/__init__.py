from .bias_norm_excluded_constructor import BiasNormExcludedOptimWrapperConstructor
from .official_lars import OfficialLARS

__all__ = ['BiasNormExcludedOptimWrapperConstructor', 'OfficialLARS']
