"""Save and restore random-number-generator states with the checkpoint."""
import random
from typing import Any, Dict

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

    ``checkpoint['rng_state']`` holds plain types only, so that
    ``torch.load(weights_only=True)`` reads the file without ``ssl_plugins``:

    - ``python``: :func:`random.getstate` as it is (a tuple of ints and an
      optional float);
    - ``numpy``: the legacy global generator's state as a dict,
      ``bit_generator`` (str), ``key`` (int64 tensor of the 624 uint32
      words), ``pos`` and ``has_gauss`` (int), ``cached_gaussian`` (float);
    - ``torch``: :func:`torch.get_rng_state` (a uint8 tensor);
    - ``cuda`` (when CUDA is initialised): one uint8 tensor per device.

    Checkpoints of earlier versions (numpy's state as its tuple with an
    ndarray) are restored as well.
    """
    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = dict(
            python=random.getstate(),
            numpy=_numpy_state_to_plain(np.random.get_state()),
            torch=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint['rng_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        if state is None or not runner._resume:
            return
        random.setstate(_as_python_state(state['python']))
        np.random.set_state(_numpy_state_from_plain(state['numpy']))
        # mmengine's resume maps the checkpoint onto the GPU: the setters
        # take CPU byte tensors only
        torch.set_rng_state(_as_byte_tensor(state['torch']))
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(
                [_as_byte_tensor(s) for s in state['cuda']])


def _numpy_state_to_plain(state: tuple) -> Dict[str, Any]:
    """numpy's legacy state tuple -> a dict of str, int, float and a tensor.

    Args:
        state (tuple): ``np.random.get_state()``: ``(bit_generator, key
            (uint32 array), pos, has_gauss, cached_gaussian)``.

    Returns:
        dict: The same state; the key as an int64 tensor (uint32 values fit
        exactly, and int64 tensors load in every torch version).
    """
    name, key, pos, has_gauss, cached_gaussian = state
    return dict(bit_generator=str(name),
                key=torch.from_numpy(np.asarray(key, dtype=np.int64)),
                pos=int(pos), has_gauss=int(has_gauss),
                cached_gaussian=float(cached_gaussian))


def _numpy_state_from_plain(state) -> tuple:
    """Inverse of :func:`_numpy_state_to_plain`; an old tuple passes as is."""
    if not isinstance(state, dict):
        return tuple(state)
    key = state['key']
    if isinstance(key, torch.Tensor):
        key = key.detach().cpu().numpy()
    return (state['bit_generator'], np.asarray(key).astype(np.uint32),
            int(state['pos']), int(state['has_gauss']),
            float(state['cached_gaussian']))


def _as_byte_tensor(state) -> torch.Tensor:
    return torch.as_tensor(state).to(device='cpu', dtype=torch.uint8)


def _as_python_state(state):
    # Tuples may come back as lists from some serialisers.
    version, internal, gauss = state
    return version, tuple(internal), gauss
