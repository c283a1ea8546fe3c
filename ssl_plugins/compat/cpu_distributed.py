"""Distributed training without GPUs (gloo), for tests and CPU clusters.

mmengine 0.10.7 breaks on CPU in two places:

- ``mmengine.dist.utils._init_dist_pytorch`` calls ``torch.cuda.set_device``
  and uses the configured backend (``nccl`` by default);
- ``Runner.wrap_model`` builds DDP with ``device_ids=[LOCAL_RANK]``, which
  DDP rejects for a CPU module, and keeps SyncBN layers, which need CUDA.

Both are replaced by versions that take the original path whenever CUDA is
available, so the NCCL/DDP/SyncBN path on GPUs is untouched.

The replaced ``wrap_model`` also builds the wrapper on channels_last weights
when the config lists a ``ChannelsLastHook`` (on CPU and CUDA; see
:mod:`ssl_plugins.engine.hooks.channels_last_hook`): DDP's gradient buckets
take the parameters' strides at construction.
"""
import os

import torch


def _cuda() -> bool:
    return torch.cuda.is_available()


def check_local_rank_has_gpu() -> None:
    """Raise a clear error (instead of CUDA's 'invalid device ordinal')
    when this process's ``LOCAL_RANK`` has no GPU of its own."""
    local_rank = int(os.environ.get('LOCAL_RANK', 0))
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise RuntimeError(
            f'LOCAL_RANK={local_rank}, but only {count} CUDA device(s) are '
            'visible to this process (CUDA_VISIBLE_DEVICES='
            f'{os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")!r}): launch '
            f'at most {count} process(es) per node, or set '
            'CUDA_VISIBLE_DEVICES= (empty) to train on the CPU with gloo.')


def patch_cpu_distributed() -> None:
    """Install the CPU fallbacks in mmengine (idempotent)."""
    from mmengine.dist import utils as dist_utils
    from mmengine.runner import Runner

    if getattr(dist_utils._init_dist_pytorch, '_ssl_plugins', False):
        return
    original_init = dist_utils._init_dist_pytorch
    original_wrap = Runner.wrap_model

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs) -> None:
        if _cuda():
            check_local_rank_has_gpu()
            return original_init(backend, init_backend=init_backend, **kwargs)
        import torch.distributed as dist
        dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **kwargs)

    def _wrap(self, model_wrapper_cfg, model):
        from mmengine.model import (MMDistributedDataParallel,
                                    is_model_wrapper, revert_sync_batchnorm)
        if _cuda() or not self.distributed or is_model_wrapper(model):
            return original_wrap(self, model_wrapper_cfg, model)
        model = revert_sync_batchnorm(model)  # SyncBN needs CUDA
        cfg = dict(model_wrapper_cfg or {})
        cfg.pop('_scope_', None)  # set on dicts inherited via mmpretrain::
        cfg.setdefault('broadcast_buffers', False)
        cfg.setdefault('find_unused_parameters',
                       self.cfg.get('find_unused_parameters', False))
        wrapper_type = cfg.pop('type', MMDistributedDataParallel)
        if isinstance(wrapper_type, str):
            from mmengine.registry import MODEL_WRAPPERS
            wrapper_type = MODEL_WRAPPERS.get(wrapper_type)
        # device_ids must be None for a module on the CPU.
        return wrapper_type(module=model, device_ids=None, **cfg)

    def wrap_model(self, model_wrapper_cfg, model):
        from mmengine.model import is_model_wrapper

        from ssl_plugins.engine.hooks.channels_last_hook import (
            channels_last_requested, wrap_with_channels_last_layout)
        if (not self.distributed or is_model_wrapper(model)
                or not channels_last_requested(self.cfg)):
            return _wrap(self, model_wrapper_cfg, model)
        # ChannelsLastHook converts the model only in before_train, once
        # hooks exist; DDP lays out its gradient buckets now, from the
        # weights' strides (CPU and CUDA paths alike).
        return wrap_with_channels_last_layout(
            model, lambda bare: _wrap(self, model_wrapper_cfg, bare))

    _init_dist_pytorch._ssl_plugins = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch
    Runner.wrap_model = wrap_model
