"""Name the rank that stopped responding when a collective times out."""
from typing import Dict, Optional, Tuple

import torch.distributed as dist
from mmengine.hooks import Hook

from ssl_plugins.functional.distributed import (get_rank, get_world_size,
                                                is_dist_initialized)
from ssl_plugins.registry import HOOKS

_KEY = 'ssl_plugins/heartbeat/{}'
_AT_CHECKPOINT = ' checkpoint'
#: (iteration, reached the checkpoint after it): ranks sort by progress
Progress = Tuple[int, bool]


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
    also records reaching a checkpoint (the custom event
    ``before_save_checkpoint_all_ranks``, whose RNG-state gather is a
    collective), so a rank that stops between an iteration and the
    checkpoint after it is named too. A rank that stops in the middle of an
    iteration (after this record) is not told apart from the waiting ones:
    the message then says so. One small write to the store per iteration,
    checkpoint and rank (the store is the launcher's TCP rendezvous server).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._started = 0

    def before_train(self, runner) -> None:
        # a resumed run may save (save_best after validation) before its
        # first iteration: the iterations done so far count as started
        self._started = runner.iter

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        self._started = runner.iter + 1
        _record(self._started, at_checkpoint=False)

    def before_save_checkpoint_all_ranks(self, runner) -> None:
        """Reached the checkpoint after the iteration last started (by
        iteration or by epoch, inside or after the train loop's count)."""
        _record(self._started, at_checkpoint=True)


def _record(iteration: int, at_checkpoint: bool) -> None:
    store = _store()
    if store is not None:
        store.set(_KEY.format(get_rank()),
                  f'{iteration}{_AT_CHECKPOINT if at_checkpoint else ""}')


def last_records(world_size: int) -> Dict[int, Optional[Progress]]:
    """How far each rank got, from the store: ``(iteration, at its
    checkpoint)``, the iteration it last started or the one whose checkpoint
    it reached (None where a rank never wrote one)."""
    store = _store()
    out: Dict[int, Optional[Progress]] = {}
    for rank in range(world_size):
        key = _KEY.format(rank)
        try:
            value = (store.get(key).decode()
                     if store is not None and store.check([key]) else None)
        except RuntimeError:
            value = None
        out[rank] = None if value is None else (
            int(value.split()[0]), value.endswith(_AT_CHECKPOINT))
    return out


def _describe(progress: Optional[Progress]) -> str:
    if progress is None:
        return 'no iteration started'
    iteration, at_checkpoint = progress
    return (f'at the checkpoint after iteration {iteration}' if at_checkpoint
            else f'last started iteration {iteration}')


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
    records = last_records(world)
    known = [p for p in records.values() if p is not None]
    newest = max(known) if known else None
    behind = [r for r, p in records.items() if p is None or p < newest]
    where = ', '.join(f'rank {r} ({_describe(records[r])})'
                      for r in behind) or 'none behind by the records'
    return (f'rank {rank}: a collective operation timed out '
            f'({_describe(records.get(rank))}) waiting for the other ranks; '
            f'stalled: {where}. '
            'The timeout is env_cfg.dist_cfg.timeout (seconds); '
            'see docs/reliability.md for restarting under torchrun / slurm.')
