from .bias_norm_excluded_constructor import \
    BiasNormExcludedOptimWrapperConstructor
from .official_lars import OfficialLARS

__all__ = ['BiasNormExcludedOptimWrapperConstructor', 'OfficialLARS']
from .autocast_optim_wrapper import AutocastOptimWrapper  # noqa: E402

__all__ += ['AutocastOptimWrapper']
