"""Save and restore random-number-generator states with the checkpoint."""
import random
import warnings
from typing import Any, Dict, List, Optional

import numpy as np
import torch
import torch.distributed as dist
from mmengine.hooks import Hook

from ssl_plugins.functional.distributed import get_rank, get_world_size
from ssl_plugins.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Put the Python, numpy and torch (CPU and CUDA) RNG states of every
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

    Distributed runs (``randomness.diff_rank_seed=True``: every rank draws
    its own augmentations) store every rank's states: ``rng_state`` is rank
    0's as above, and ``rng_state['ranks']`` lists the states of ranks 0 to
    W-1 in the same format. mmengine writes checkpoints on rank 0 only, so
    the states are gathered (one ``all_gather_object`` per checkpoint) when
    ``ssl_plugins``' ``CheckpointHook`` (``AtomicCheckpointHook``) calls the
    custom hook event ``before_save_checkpoint_all_ranks`` on every rank. A
    resume with the same number of ranks restores each rank's own states; with
    another number (or from a checkpoint without ``ranks``) rank 0 restores
    rank 0's and the other ranks keep their freshly seeded generators, with a
    warning that the run is not an exact continuation.

    Checkpoints of earlier versions (numpy's state as its tuple with an
    ndarray) are restored as well.
    """
    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._rank_states: Optional[List[dict]] = None

    def before_save_checkpoint_all_ranks(self, runner) -> None:
        """Gather every rank's states (a collective: called on all ranks)."""
        if get_world_size() > 1:
            states = [None] * get_world_size()
            dist.all_gather_object(states, current_rng_state())
            self._rank_states = states

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = current_rng_state()
        if self._rank_states is not None:
            state['ranks'] = self._rank_states
            self._rank_states = None
        checkpoint['rng_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        if state is None or not runner._resume:
            return
        rank, world_size = get_rank(), get_world_size()
        ranks = state.get('ranks') or [state]
        if len(ranks) == world_size:
            set_rng_state(ranks[rank])
            return
        if rank == 0:
            set_rng_state(ranks[0])
        if rank == 0 or len(ranks) > 1:
            warnings.warn(
                f'RNGStateHook: the checkpoint holds the random-generator '
                f'states of {len(ranks)} process(es), this run has '
                f'{world_size}: rank {rank} '
                + ('takes rank 0\'s states' if rank == 0 else
                   'keeps its freshly seeded generators') +
                ', so the augmentations after the resume are not those of an '
                'uninterrupted run.')


def current_rng_state() -> Dict[str, Any]:
    """This process's Python, numpy, torch and CUDA generator states, in
    plain types (see :class:`RNGStateHook`)."""
    state = dict(
        python=random.getstate(),
        numpy=_numpy_state_to_plain(np.random.get_state()),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    """Restore the states :func:`current_rng_state` returned (also from an
    older checkpoint's numpy tuple)."""
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
