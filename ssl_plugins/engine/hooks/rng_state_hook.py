"""Save and restore random-number-generator states with the checkpoint."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from ssl_plugins.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Put the Python, numpy and torch (CPU and CUDA) RNG states of this
    process into each checkpoint and restore them on resume.

    mmengine restores the model, optimizer, schedulers and message hub but
    re-seeds the generators, so the augmentations (and dropout) after a
    resume differ from those of an uninterrupted run. With this hook and
    augmentations drawn in the main process (``num_workers=0``) a resumed run
    continues exactly. Data-loader workers draw from their own generators
    (seeded per worker by mmengine), which no checkpoint can capture.
    """
    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = dict(
            python=random.getstate(),
            numpy=np.random.get_state(),
            torch=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint['rng_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        if state is None or not runner._resume:
            return
        random.setstate(_as_python_state(state['python']))
        np.random.set_state(state['numpy'])
        # mmengine's resume maps the checkpoint onto the GPU: the setters
        # take CPU byte tensors only
        torch.set_rng_state(_as_byte_tensor(state['torch']))
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(
                [_as_byte_tensor(s) for s in state['cuda']])


def _as_byte_tensor(state) -> torch.Tensor:
    return torch.as_tensor(state).to(device='cpu', dtype=torch.uint8)


def _as_python_state(state):
    # Tuples may come back as lists from some serialisers.
    version, internal, gauss = state
    return version, tuple(internal), gauss
