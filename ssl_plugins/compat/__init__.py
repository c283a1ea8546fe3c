"""Fixes for known upstream defects, applied once when ``ssl_plugins`` is imported.

- :mod:`.safe_load`: torch>=2.6 loads with ``weights_only=True`` by default and
  mmengine 0.10.7 cannot resume from its own checkpoints; we load every local
  checkpoint with ``weights_only=True`` plus an allow-list of the few plain
  classes mmengine writes, and refuse anything else unless trusted explicitly.
- :mod:`.cpu_distributed`: mmengine's ``_init_dist_pytorch`` calls
  ``torch.cuda.set_device`` unconditionally and its DDP wrapping passes
  ``device_ids``; without CUDA we use gloo, no ``device_ids`` and plain BN.
- :mod:`.numpy2_hue`: mmcv 2.2's ``adjust_hue`` overflows under numpy 2.
- :mod:`.package_lookup`: mmengine finds the package of
  ``_base_ = 'mmpretrain::...'`` through ``pkg_resources``, gone in
  setuptools >= 81; without it we provide the lookups via importlib.
- :mod:`.per_param_clip_grad`: mmengine hard-codes its gradient-clipping
  types; ``clip_grad=dict(type='per_param', max_norm=...)`` adds DINO's
  per-parameter clipping to every ``OptimWrapper`` (AMP included).
- :mod:`.default_hooks_none`: mmengine asserts on ``default_hooks=dict(
  name=None)`` unless ``name`` is one of its six; any name is dropped here.

mmpretrain imports torchvision without declaring it: our requirements do.
"""
from .cpu_distributed import patch_cpu_distributed
from .default_hooks_none import patch_default_hooks_none
from .numpy2_hue import patch_adjust_hue
from .package_lookup import patch_package_lookups
from .per_param_clip_grad import patch_per_param_clip_grad
from .safe_load import (UnsafeCheckpointError, patch_mmengine_checkpoint_loader,
                        safe_torch_load)

_APPLIED = False


def apply_compat_patches() -> None:
    """Apply every upstream fix (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    patch_mmengine_checkpoint_loader()
    patch_cpu_distributed()
    patch_adjust_hue()
    patch_package_lookups()
    patch_per_param_clip_grad()
    patch_default_hooks_none()
    _APPLIED = True


__all__ = [
    'apply_compat_patches', 'safe_torch_load', 'UnsafeCheckpointError',
    'patch_mmengine_checkpoint_loader', 'patch_cpu_distributed',
    'patch_adjust_hue', 'patch_package_lookups', 'patch_per_param_clip_grad'
]
