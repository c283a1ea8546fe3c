"""Guards for GPU machines that the CPU test machine can only simulate
(found by running the suite on a 1-GPU machine)."""
import random

import numpy as np
import pytest
import torch

from ssl_plugins.compat import cpu_distributed
from ssl_plugins.engine.hooks import RNGStateHook


def test_local_rank_without_its_own_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 1)
    monkeypatch.setenv('LOCAL_RANK', '0')
    cpu_distributed.check_local_rank_has_gpu()  # rank 0 has GPU 0
    monkeypatch.setenv('LOCAL_RANK', '1')
    with pytest.raises(RuntimeError, match=r'LOCAL_RANK=1.*only 1 CUDA'
                       r'.*CUDA_VISIBLE_DEVICES= \(empty\)'):
        cpu_distributed.check_local_rank_has_gpu()


def test_rng_state_restores_from_a_mapped_checkpoint(monkeypatch):
    """mmengine's resume maps checkpoint tensors onto the GPU, and
    ``torch.set_rng_state`` takes a CPU byte tensor only: the hook must
    convert what it gets. Simulated on CPU with the state as another tensor
    type (a CUDA tensor fails the same check)."""
    hook = RNGStateHook()
    ckpt = {}
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    hook.before_save_checkpoint(None, ckpt)
    expected = torch.rand(3)
    state = ckpt['rng_state']
    state['torch'] = state['torch'].to(torch.int16)  # not a ByteTensor
    with pytest.raises(TypeError):
        torch.set_rng_state(state['torch'])
    torch.manual_seed(2)

    class Runner:
        _resume = True

    hook.after_load_checkpoint(Runner(), ckpt)
    torch.testing.assert_close(torch.rand(3), expected)
