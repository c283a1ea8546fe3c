"""Mixed precision by autocast on CPU or GPU (bf16 needs no loss scaling)."""
from contextlib import contextmanager
from typing import Optional

import torch
from mmengine.optim import OptimWrapper

from ssl_plugins.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward runs under ``torch.autocast``.

    mmengine's ``AmpOptimWrapper`` refuses to run without a GPU; this one
    works on CPU too (Intel AMX / AVX512-BF16 run bf16 convolutions and
    matmuls several times faster than fp32) and on CUDA. bf16 has fp32's
    exponent range, so no gradient scaler is needed; parameters, gradients
    and optimizer state stay fp32. Losses that need fp32 accumulation cast
    their inputs themselves.

    Args:
        dtype (str): ``'bfloat16'`` (default) or ``'float16'`` (CUDA only;
            prefer mmengine's ``AmpOptimWrapper`` for fp16, which scales
            the loss).
        device_type (str, optional): ``'cpu'`` or ``'cuda'``; defaults to
            the device of the model's first parameter.
        **kwargs: passed to ``OptimWrapper`` (``optimizer``, ``clip_grad``...).
    """

    def __init__(self, dtype: str = 'bfloat16',
                 device_type: Optional[str] = None, **kwargs):
        super().__init__(**kwargs)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f'AutocastOptimWrapper: dtype must be '
                             f'"bfloat16" or "float16", got {dtype!r}')
        self.dtype = getattr(torch, dtype)
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        device_type = self.device_type or next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=self.dtype):
            yield
