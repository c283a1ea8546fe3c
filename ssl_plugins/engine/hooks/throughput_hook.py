"""Training throughput in images per second, next to mmengine's time."""
import time
from typing import Any, Optional

from mmengine.hooks import Hook, IterTimerHook

from ssl_plugins.functional.distributed import get_world_size
from ssl_plugins.registry import HOOKS


def batch_size_of(data_batch: Any) -> Optional[int]:
    """Number of samples (not views or crops) in a data batch.

    Args:
        data_batch (Any): What the dataloader yielded: a dict with
            ``data_samples`` and / or ``inputs`` (a tensor, or a list with
            one tensor per view), a tensor, or a sequence of samples.

    Returns:
        int or None: The batch size, or None if it cannot be told.
    """
    if isinstance(data_batch, dict):
        samples = data_batch.get('data_samples')
        if isinstance(samples, (list, tuple)) and samples:
            return len(samples)
        return batch_size_of(data_batch.get('inputs'))
    if hasattr(data_batch, 'shape') and len(data_batch.shape) > 0:
        return int(data_batch.shape[0])
    if isinstance(data_batch, (list, tuple)) and data_batch:
        first = data_batch[0]
        if hasattr(first, 'shape') and len(first.shape) > 0:
            return int(first.shape[0])  # one tensor per view
        return len(data_batch)
    return None


@HOOKS.register_module()
class ThroughputHook(Hook):
    """Log ``train/img_per_s``, the global training throughput.

    Every training iteration, ``batch size x world size / iteration time``
    goes to the message hub, so ``LoggerHook`` prints it (``img_per_s``) and
    the visualisation backends store it (``scalars.json``). The iteration
    time is mmengine's: ``IterTimerHook``'s ``train/time`` of this iteration
    (end of the previous iteration to end of this one, data loading
    included), or, without that hook, the same interval measured here. The
    batch size is this process's batch (its samples, not its views); the
    other processes are assumed to have the same, so no collective is run.

    Priority 55: after ``IterTimerHook`` (NORMAL, 50) has recorded this
    iteration's time and before ``LoggerHook`` (BELOW_NORMAL, 60) logs.
    """

    priority = 55

    def __init__(self) -> None:
        self._last: Optional[float] = None
        self._from_timer = False

    def before_train(self, runner) -> None:
        """Find out whether ``IterTimerHook`` times the iterations first.

        Args:
            runner (Runner): The runner.
        """
        # this iteration's 'train/time' is in the message hub only if an
        # IterTimerHook runs before this hook (runner.hooks is in call order)
        hooks = list(runner.hooks)
        before = hooks[:hooks.index(self)] if self in hooks else []
        self._from_timer = any(isinstance(h, IterTimerHook) for h in before)

    def before_train_epoch(self, runner) -> None:
        """Start the own clock, where ``IterTimerHook`` starts its own.

        Args:
            runner (Runner): The runner.
        """
        self._last = time.perf_counter()

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Any = None) -> None:
        """Put ``train/img_per_s`` of this iteration in the message hub.

        Args:
            runner (Runner): The runner.
            batch_idx (int): Index of the batch in the epoch.
            data_batch (Any): The batch (its size is counted).
            outputs (Any): The model's outputs (unused).
        """
        now = time.perf_counter()
        own = None if self._last is None else now - self._last
        self._last = now
        seconds = own
        if self._from_timer:
            seconds = runner.message_hub.get_scalar('train/time').current()
        batch = batch_size_of(data_batch)
        if batch is None:
            batch = getattr(runner.train_dataloader, 'batch_size', None)
        if not batch or not seconds or seconds <= 0:
            return
        runner.message_hub.update_scalar(
            'train/img_per_s', batch * get_world_size() / seconds)
