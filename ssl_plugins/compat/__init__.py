"""Fixes for known upstream defects, applied once when ``ssl_plugins`` is
imported.

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
- :mod:`.compiled_train_step`: mmengine's ``compile=True`` compiles the
  whole ``train_step``, optimizer step included (an internal Dynamo error
  with LARS, a recompilation per step with any scheduled learning rate);
  ``OptimWrapper.update_params`` runs eagerly and ``should_sync`` no longer
  reads the iteration counter without gradient accumulation.
- :mod:`.default_hooks_none`: mmengine asserts on ``default_hooks=dict(
  name=None)`` unless ``name`` is one of its six; any name is dropped here.
- :mod:`.small_epoch_schedulers`: a fractional-epoch warm-up converted to
  iterations covers at least 2 (mmengine: 0 and an error, or 1 and a
  start factor that is never removed).
- :mod:`.cpu_slurm`: ``--launcher slurm`` without GPUs uses gloo (mmengine
  divides by the GPU count).
- :mod:`.scoped_functions`: ``collate_fn=dict(type=...)`` inherited from
  ``mmpretrain::`` configs carries ``_scope_``, which mmengine's
  ``build_dataloader`` passed to the function.
- :mod:`.config_scope`: the ``model`` and datasets of a config with
  ``default_scope='ssl_plugins'`` carry ``_scope_='ssl_plugins'``, so tools
  that force mmpretrain's scope (browse_dataset.py, ``get_model``) build ours.
- :mod:`.matplotlib_adjust_bbox`: mmpretrain's browse_dataset.py lays out
  images with ``adjust_bbox(fig, bbox)``; matplotlib >= 3.10 requires a
  renderer argument there (needed only with axes locators).
- :mod:`.config_variables` (used by ``tools/train.py``, patches nothing):
  ``--cfg-options max_epochs=1`` on a config that already wrote
  ``max_epochs`` into other fields names those fields instead of being
  ignored.

mmpretrain imports torchvision without declaring it: our requirements do.
"""
from .compiled_train_step import patch_compiled_train_step
from .config_scope import patch_config_scope
from .cpu_distributed import patch_cpu_distributed
from .cpu_slurm import patch_cpu_slurm
from .default_hooks_none import patch_default_hooks_none
from .matplotlib_adjust_bbox import patch_adjust_bbox_renderer
from .numpy2_hue import patch_adjust_hue
from .package_lookup import patch_package_lookups
from .per_param_clip_grad import patch_per_param_clip_grad
from .safe_load import (UnsafeCheckpointError,
                        patch_mmengine_checkpoint_loader, safe_torch_load)
from .scoped_functions import patch_scoped_dataloader_functions
from .small_epoch_schedulers import patch_small_epoch_schedulers

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
    patch_compiled_train_step()
    patch_default_hooks_none()
    patch_small_epoch_schedulers()
    patch_cpu_slurm()
    patch_scoped_dataloader_functions()
    patch_config_scope()
    patch_adjust_bbox_renderer()
    _APPLIED = True


__all__ = [
    'apply_compat_patches', 'safe_torch_load', 'UnsafeCheckpointError',
    'patch_mmengine_checkpoint_loader', 'patch_cpu_distributed',
    'patch_adjust_hue', 'patch_package_lookups', 'patch_per_param_clip_grad',
    'patch_small_epoch_schedulers', 'patch_cpu_slurm',
    'patch_scoped_dataloader_functions', 'patch_config_scope',
    'patch_adjust_bbox_renderer', 'patch_compiled_train_step'
]
