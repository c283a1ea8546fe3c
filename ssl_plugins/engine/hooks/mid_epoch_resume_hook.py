"""Resume an epoch-based run from an iteration checkpoint at the next batch."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from ssl_plugins.functional.distributed import get_world_size
from ssl_plugins.registry import HOOKS

# checkpoint['meta'] key: samples of the epoch order trained (all ranks)
SAMPLES_DONE_KEY = 'epoch_samples_done'


def _sampler_and_batch_size(loader):
    """The sampler of a DataLoader and its batch size (per rank)."""
    batch_sampler = getattr(loader, 'batch_sampler', None)
    sampler = getattr(batch_sampler, 'sampler', None) or loader.sampler
    batch_size = getattr(batch_sampler, 'batch_size', None) or \
        loader.batch_size
    return sampler, batch_size


def samples_to_skip(samples_done: int, world_size: int,
                    num_samples: Optional[int]) -> int:
    """Samples of this rank's epoch order to skip at resume.

    Args:
        samples_done (int): samples of the epoch order trained before the
            checkpoint, all ranks together.
        world_size (int): ranks of the resumed run.
        num_samples (int, optional): samples of an epoch on this rank (the
            sampler's ``num_samples``); caps the result.

    Returns:
        int: ``ceil(samples_done / world_size)``, at most ``num_samples``.
    """
    skip = -(-samples_done // world_size)
    return skip if num_samples is None else min(skip, num_samples)


@HOOKS.register_module()
class MidEpochResumeHook(Hook):
    """At resume, skip the batches of the current epoch already trained.

    Each checkpoint records in ``meta['epoch_samples_done']`` how many
    samples of its epoch had been trained (0 for an epoch checkpoint). At
    resume the sampler (``ResumableSampler``) leaves them out of the epoch's
    iterator, so the resumed run continues at the next batch and ends at the
    same iteration as an uninterrupted one (with ``num_workers=0`` and
    ``RNGStateHook`` also with the same losses). The count is of samples,
    not batches: a resume with another batch size or number of ranks skips
    what was trained (rounded up to whole samples per rank), never more than
    the epoch. Checkpoints without the entry are read as ``iter - epoch x
    len(dataloader)`` batches, as before. A sampler without ``skip_next``
    gets a warning: mmengine then replays the epoch from its start.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._samples = 0  # of the running epoch, this rank
        self._skipped = 0  # skipped at resume, in the first epoch
        self._resumed_samples = None  # from the checkpoint, all ranks

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta') or {}
        value = meta.get(SAMPLES_DONE_KEY)
        self._resumed_samples = None if value is None else int(value)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            checkpoint.setdefault('meta', {})[SAMPLES_DONE_KEY] = (
                self._samples * get_world_size())

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        if not isinstance(loop, EpochBasedTrainLoop) or runner.iter == 0:
            return
        loader = loop.dataloader
        sampler, batch_size = _sampler_and_batch_size(loader)
        num_samples = getattr(sampler, 'num_samples', None)
        if self._resumed_samples is not None:
            skip = samples_to_skip(self._resumed_samples, get_world_size(),
                                   num_samples)
        elif not batch_size:  # an older checkpoint; nothing to count in
            return
        else:  # a checkpoint of an older version
            done = runner.iter - runner.epoch * len(loader)
            skip = samples_to_skip(max(done, 0) * batch_size, 1,
                                   num_samples)
        if skip <= 0:
            return
        if not hasattr(sampler, 'skip_next'):
            runner.logger.warning(
                f'MidEpochResumeHook: resuming at iteration {runner.iter}, '
                f'{skip} samples into epoch {runner.epoch + 1}, but the '
                f'sampler ({type(sampler).__name__}) cannot skip them: the '
                "epoch is replayed. Use sampler=dict(type='ResumableSampler')")
            return
        sampler.skip_next(skip)
        self._skipped = skip
        runner.logger.info(f'MidEpochResumeHook: epoch {runner.epoch + 1} '
                           f'continues after its first {skip} samples '
                           f'(of {num_samples} on this rank)')

    def before_train_epoch(self, runner) -> None:
        self._samples, self._skipped = self._skipped, 0

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        loader = runner.train_loop.dataloader
        sampler, batch_size = _sampler_and_batch_size(loader)
        if not batch_size:  # no batching to count
            return
        num_samples = getattr(sampler, 'num_samples', None)
        self._samples += batch_size
        if num_samples is not None:  # the last batch may be partial
            self._samples = min(self._samples, num_samples)

    def after_train_epoch(self, runner) -> None:
        # before the checkpoint hook (priority): an epoch checkpoint records 0
        self._samples = 0
