"""Resume an epoch-based run from an iteration checkpoint at the next batch."""
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from ssl_plugins.registry import HOOKS


@HOOKS.register_module()
class MidEpochResumeHook(Hook):
    """At resume, skip the batches of the current epoch already trained.

    With an iteration checkpoint taken inside epoch ``e`` after ``i``
    iterations in all, ``i - e * len(dataloader)`` batches of epoch ``e``
    are done; the sampler (``ResumableSampler``) leaves their samples out of
    the epoch's iterator, so the resumed run continues at the next batch and
    ends at the same iteration as an uninterrupted one (with
    ``num_workers=0`` and ``RNGStateHook`` also with the same losses). A
    sampler without ``skip_next`` gets a warning: mmengine then replays the
    epoch from its start.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        if not isinstance(loop, EpochBasedTrainLoop) or runner.iter == 0:
            return
        loader = loop.dataloader
        done = runner.iter - runner.epoch * len(loader)
        if done <= 0:
            return
        batch_sampler = getattr(loader, 'batch_sampler', None)
        sampler = getattr(batch_sampler, 'sampler', None) or loader.sampler
        batch_size = getattr(batch_sampler, 'batch_size', None) or \
            loader.batch_size
        if not hasattr(sampler, 'skip_next'):
            runner.logger.warning(
                f'MidEpochResumeHook: resuming at iteration {runner.iter}, '
                f'{done} batches into epoch {runner.epoch + 1}, but the '
                f'sampler ({type(sampler).__name__}) cannot skip them: the '
                "epoch is replayed. Use sampler=dict(type='ResumableSampler')")
            return
        sampler.skip_next(done * batch_size)
        runner.logger.info(f'MidEpochResumeHook: epoch {runner.epoch + 1} '
                           f'continues after its first {done} batches')
