"""SwAV's embedding queue (Caron et al. 2020, §4): a FIFO per process whose
state travels in the model's state dict."""
from typing import List, Optional, Sequence

import torch
import torch.distributed as dist
from torch import nn

from ssl_plugins.functional.distributed import get_rank, get_world_size

#: Where checkpoints written before the queue had its state-dict entry kept
#: it (a top-level checkpoint key).
LEGACY_CHECKPOINT_KEY = 'swav_queue'


class SwAVQueue(nn.Module):
    """Queued embeddings of the assigned views, one share per process.

    Each process uses its own share (``(views, length, dim)``, the official
    per-GPU queue) but holds a copy of every share, ``(W, views, length,
    dim)``: :meth:`push` all-gathers the new embeddings (a few KB per step),
    so any rank, e.g. rank 0 that alone writes checkpoints, holds the
    complete state. That state is the module's extra state
    (``<name>._extra_state`` in ``state_dict()``; an empty tensor before
    :meth:`start`, since mmengine broadcasts every state-dict value after
    ``init_weights``), not a buffer: DDP would broadcast a buffer from rank 0
    every step. A state saved under another number of processes is re-split
    in rank order on load. A state dict without the entry (written before it
    existed) leaves the queue as it is.

    Args:
        num_views (int): assigned views (``len(crops_for_assign)``).
        dim (int): embedding size.
    """

    def __init__(self, num_views: int, dim: int):
        super().__init__()
        self.num_views, self.dim = num_views, dim
        self.state: Optional[torch.Tensor] = None

    def start(self, length: int, like: torch.Tensor) -> None:
        """Allocate an empty queue of ``length`` embeddings per view and per
        process (device and dtype of ``like``), unless one exists."""
        if self.state is not None:
            return
        if length < 1:
            raise ValueError(f'SwAVQueue: length must be >= 1, got {length}')
        self.state = like.new_zeros(
            (get_world_size(), self.num_views, length, self.dim))

    @property
    def share(self) -> Optional[torch.Tensor]:
        """This process's ``(views, length, dim)`` (None before the start)."""
        return None if self.state is None else self.state[get_rank()]

    @property
    def full(self) -> bool:
        """True once the last slot is filled: the queue is then used."""
        return self.state is not None and bool(self.state[:, :, -1].any())

    @torch.compiler.disable
    @torch.no_grad()
    def push(self, new: Sequence[torch.Tensor]
             ) -> Optional[List[torch.Tensor]]:
        """Return this process's share to use now (None until full), then
        push ``new`` (one ``(B, dim)`` per view) of every process (FIFO,
        newest first). Every process must call it (one all-gather). Eager
        also in a compiled step (``torch.compiler.disable``): whether the
        queue is full is read from its values on the host."""
        batch, length = new[0].shape[0], self.state.shape[2]
        if batch > length:
            raise ValueError(
                f'SwAV: the queue ({length} per process) is shorter than the '
                f'batch ({batch} per process); raise the queue length')
        if self.state.device != new[0].device:  # e.g. loaded on the CPU
            self.state = self.state.to(new[0].device)
        used = list(self.share.clone()) if self.full else None
        new = torch.stack(list(new)).to(self.state.dtype).contiguous()
        if self.state.shape[0] > 1:
            gathered = [torch.empty_like(new) for _ in range(get_world_size())]
            dist.all_gather(gathered, new)
            new = torch.stack(gathered)
        else:
            new = new[None]
        self.state[:, :, batch:] = self.state[:, :, :-batch].clone()
        self.state[:, :, :batch] = new
        return used

    def get_extra_state(self) -> torch.Tensor:
        return torch.empty(0) if self.state is None else self.state

    def set_extra_state(self, state: Optional[torch.Tensor]) -> None:
        """Restore a saved state (empty or None: no queue), re-split in rank
        order when it was saved under another number of processes."""
        if state is None or state.numel() == 0:
            self.state = None
            return
        if state.dim() != 4 or (state.shape[1], state.shape[3]) != (
                self.num_views, self.dim):
            raise ValueError(
                f'SwAVQueue: expected a state of shape (processes, '
                f'{self.num_views} views, length, {self.dim}), got '
                f'{tuple(state.shape)}')
        world = get_world_size()
        if state.shape[0] != world:  # global queue in rank order, re-split
            full = torch.cat(list(state), dim=1)
            per = full.shape[1] // world
            state = full[:, :per * world].unflatten(1, (world, per))
            state = state.transpose(0, 1)
        self.state = state.detach().clone()

    def _load_from_state_dict(self, state_dict, prefix, *args) -> None:
        # no entry (a state dict from before the queue had one): not missing
        if prefix + '_extra_state' in state_dict:
            super()._load_from_state_dict(state_dict, prefix, *args)


def move_legacy_queue(checkpoint: dict, model: nn.Module) -> None:
    """Move ``checkpoint['swav_queue']`` (written before the queue was in
    the state dict) to ``model``'s queue entry of ``checkpoint['state_dict']``
    (in place; before the model loads it)."""
    if LEGACY_CHECKPOINT_KEY not in checkpoint:
        return
    saved = checkpoint.pop(LEGACY_CHECKPOINT_KEY)
    names = [n for n, m in model.named_modules() if isinstance(m, SwAVQueue)]
    if len(names) != 1:
        raise TypeError(f'{type(model).__name__} has {len(names)} SwAV '
                        'queues; cannot restore checkpoint["swav_queue"]')
    state_dict = checkpoint.setdefault('state_dict', {})
    state_dict.setdefault(f'{names[0]}._extra_state', saved)
