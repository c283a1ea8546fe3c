"""A sampler that can resume part-way through an epoch."""
from typing import Iterator

from mmengine.dataset import DefaultSampler

from ssl_plugins.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class ResumableSampler(DefaultSampler):
    """mmengine's ``DefaultSampler`` that can start an epoch part-way.

    Resuming an epoch-based run from an iteration checkpoint (``CheckpointHook
    (by_epoch=False)``) makes mmengine 0.10's ``EpochBasedTrainLoop`` replay
    the interrupted epoch from its first batch. The order of an epoch is a
    function of ``(seed, epoch)`` only, so skipping the samples already
    trained is enough: ``MidEpochResumeHook`` calls :meth:`skip_next` with
    their number at resume, and the next epoch iterator starts after them
    (the epoch then has fewer batches; the loop moves on to the next epoch
    as usual). Arguments: those of ``DefaultSampler``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._skip = 0

    def skip_next(self, num_samples: int) -> None:
        """Leave out the first ``num_samples`` indices (of this rank) of the
        next epoch iterator only."""
        if not 0 <= num_samples <= self.num_samples:
            raise ValueError(f'ResumableSampler: cannot skip {num_samples} '
                             f'of {self.num_samples} samples')
        self._skip = num_samples

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        skip, self._skip = self._skip, 0
        return iter(indices[skip:])
