"""Name the rank that stopped responding when a collective times out."""
from typing import Dict, List, Optional, Tuple

import torch.distributed as dist
from mmengine.hooks import Hook

from ssl_plugins.functional.distributed import (get_rank, get_world_size,
                                                is_dist_initialized)
from ssl_plugins.registry import HOOKS

_KEY = 'ssl_plugins/heartbeat/{}'


def _store():
    """The default process group's key-value store, or None."""
    if not is_dist_initialized():
        return None
    try:
        return dist.distributed_c10d._get_default_store()
    except (AttributeError, RuntimeError):
        return None


@HOOKS.register_module()
class HeartbeatHook(Hook):
    """Each rank records its iteration in the process group's store.

    A rank that stops (a hung data loader, a SIGSTOP, a dead node) leaves
    the others waiting in the next collective until the process group's
    timeout (``env_cfg.dist_cfg.timeout``, seconds) raises. Gloo's and
    NCCL's messages then name no rank; ``tools/train.py`` calls
    :func:`explain_collective_timeout`, which reads these records and names
    the ranks that did not start the iteration the others wait in. A rank
    that stops in the middle of an iteration (after this record) is not
    told apart from the waiting ones: the message then says so. One small
    write to the store per iteration and rank (the store is the launcher's
    TCP rendezvous server).
    """

    priority = 'VERY_HIGH'

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        store = _store()
        if store is not None:
            store.set(_KEY.format(get_rank()), str(runner.iter + 1))


def last_iterations(world_size: int) -> Dict[int, Optional[int]]:
    """The iteration each rank last started, from the store (None where a
    rank never wrote one)."""
    store = _store()
    out = {}
    for rank in range(world_size):
        key = _KEY.format(rank)
        try:
            out[rank] = (int(store.get(key))
                         if store is not None and store.check([key]) else None)
        except RuntimeError:
            out[rank] = None
    return out


def is_collective_timeout(err: BaseException) -> bool:
    """Whether ``err`` is a process-group timeout (gloo or NCCL)."""
    text = f'{type(err).__name__} {err}'.lower()
    return 'timed out' in text or 'timeout' in text and 'dist' in text


def explain_collective_timeout(err: BaseException) -> Optional[str]:
    """A message naming the stalled ranks if ``err`` is a collective
    timeout of an initialised process group, else None."""
    if not is_collective_timeout(err) or _store() is None:
        return None
    rank, world = get_rank(), get_world_size()
    iters = last_iterations(world)
    known = [i for i in iters.values() if i is not None]
    newest = max(known) if known else None
    behind: List[Tuple[int, Optional[int]]] = [
        (r, i) for r, i in iters.items() if i is None or i < newest]
    where = ', '.join(f'rank {r} (last started iteration {i})'
                      for r, i in behind) or 'none behind by the records'
    return (f'rank {rank}: a collective operation timed out at iteration '
            f'{iters.get(rank)} waiting for the other ranks; '
            f'stalled: {where}. '
            'The timeout is env_cfg.dist_cfg.timeout (seconds); '
            'see docs/reliability.md for restarting under torchrun / slurm.')
