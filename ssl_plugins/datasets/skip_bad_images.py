"""Opt-in skipping of bad images, with a log line per file and a cap."""
import copy
import logging
from typing import Any, Dict, Optional, Set, Union

from mmengine.logging import print_log

from ssl_plugins.registry import DATASETS
from .transforms.loading import BadImageError, LoadImageFromFileChecked


class TooManyBadImagesError(RuntimeError):
    """More bad images than :class:`SkipBadImages` may skip."""


@DATASETS.register_module()
class SkipBadImages:
    """Dataset wrapper that replaces a bad image by the next good one.

    ``dataset[idx]`` is returned as is unless the pipeline raises
    :class:`~ssl_plugins.datasets.transforms.BadImageError` (raised by
    ``LoadImageFromFile`` in the ``ssl_plugins`` scope, see
    :class:`~ssl_plugins.datasets.transforms.LoadImageFromFileChecked`);
    then the wrapper logs a warning naming the file and the reason, records
    the file, and returns the next index that loads (``idx + 1``,
    ``idx + 2``, ... wrapping around). The epoch keeps its length; the
    neighbour of a bad image appears twice. Other errors pass through.
    An index once found bad is skipped without reading it again (counted in
    :attr:`num_skips`, logged at DEBUG level).

    The cap counts *distinct* bad files, so the same few bad files skipped
    in every epoch never add up: when more than ``max_skips`` (or more than
    ``max_skip_ratio`` of the dataset, whichever is smaller) distinct files
    have been found bad, :class:`TooManyBadImagesError` stops the run,
    listing the files. ``max_skips=0`` skips nothing but still stops with
    that message.

    Counts live in the process that reads the data. With
    ``num_workers=N > 0`` each DataLoader worker has its own copy of this
    wrapper, so the counts and the cap are per worker (a run may skip up to
    N x ``max_skips`` files in all before one worker stops it; the
    main-process object keeps counting nothing), and per rank under
    distributed training. Without ``persistent_workers`` the workers, and
    their counts, are created anew each epoch. A worker's error reaches the
    main process and ends training there.

    Why not mmengine's own mechanism (a transform returning None,
    ``BaseDataset.max_refetch``): None carries neither the file nor the
    reason, the retry draws a random index from numpy's global generator
    (shifting the augmentations of every later sample, and so the exact
    resume), ``max_refetch`` bounds failures in a row for one item, not
    in the run, and ``test_mode`` datasets refuse None altogether.

    Example::

        train_dataloader = dict(dataset=dict(
            type='SkipBadImages', max_skips=50,
            dataset=dict(type='CustomDataset', data_root='my_images/',
                         with_label=False, pipeline=train_pipeline)))

    Args:
        dataset (dict | Dataset): the wrapped dataset or its config.
        max_skips (int): most distinct bad files tolerated (per process).
            Defaults to 100.
        max_skip_ratio (float, optional): most bad files as a fraction of
            ``len(dataset)``; the smaller of the two caps applies.
            Defaults to None (no ratio cap).
        lazy_init (bool): defer ``full_init`` of the wrapped dataset.
            Defaults to False.
    """

    def __init__(self,
                 dataset: Union[dict, Any],
                 max_skips: int = 100,
                 max_skip_ratio: Optional[float] = None,
                 lazy_init: bool = False) -> None:
        if isinstance(max_skips, bool) or not isinstance(max_skips, int) \
                or max_skips < 0:
            raise ValueError('SkipBadImages: max_skips must be an int >= 0, '
                             f'got {max_skips!r}')
        if max_skip_ratio is not None and not 0 <= max_skip_ratio <= 1:
            raise ValueError('SkipBadImages: max_skip_ratio must be in '
                             f'[0, 1], got {max_skip_ratio!r}')
        if isinstance(dataset, dict):
            dataset = DATASETS.build(copy.deepcopy(dataset))
        self.dataset = dataset
        self.max_skips = max_skips
        self.max_skip_ratio = max_skip_ratio
        #: bad files found by this process, path -> reason, in order found
        self.bad_files: Dict[str, str] = {}
        #: skips made by this process, repeats of a known bad index included
        self.num_skips = 0
        self._bad_indices: Set[int] = set()
        self._fully_initialized = False
        self._warn_without_checked_loader()
        if not lazy_init:
            self.full_init()

    def _warn_without_checked_loader(self) -> None:
        transforms = getattr(getattr(self.dataset, 'pipeline', None),
                             'transforms', None)
        if transforms is not None and not any(
                isinstance(t, LoadImageFromFileChecked) for t in transforms):
            print_log(
                'SkipBadImages: the wrapped pipeline has no ssl_plugins '
                'LoadImageFromFile (LoadImageFromFileChecked); only '
                'BadImageError is skipped, so other loaders\' errors will '
                'stop the run.',
                logger='current',
                level=logging.WARNING)

    @property
    def metainfo(self) -> dict:
        """dict: the wrapped dataset's meta information."""
        return copy.deepcopy(getattr(self.dataset, 'metainfo', {}))

    @property
    def max_bad_files(self) -> int:
        """int: the cap on distinct bad files (the smaller of both caps)."""
        cap = self.max_skips
        if self.max_skip_ratio is not None:
            cap = min(cap, int(self.max_skip_ratio * len(self.dataset)))
        return cap

    def full_init(self) -> None:
        """Fully initialise the wrapped dataset (once)."""
        if self._fully_initialized:
            return
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        self._fully_initialized = True

    def get_data_info(self, idx: int) -> dict:
        """The wrapped dataset's annotation of ``idx`` (no image loaded).

        Args:
            idx (int): index.

        Returns:
            dict: the data information.
        """
        return self.dataset.get_data_info(idx)

    def __len__(self) -> int:
        return len(self.dataset)

    def _record(self, idx: int, err: BadImageError) -> None:
        path = err.path if err.path is not None else f'index {idx}'
        self._bad_indices.add(idx)
        self.bad_files[path] = err.reason or 'bad image'
        self.num_skips += 1
        found, cap = len(self.bad_files), self.max_bad_files
        print_log(
            f'SkipBadImages: skipped {path}: {err.reason} ({err.detail}); '
            f'{found} bad image(s) found by this process so far, cap {cap}.',
            logger='current',
            level=logging.WARNING)
        if found > cap:
            listing = '\n'.join(f'  {p}: {r}'
                                for p, r in self.bad_files.items())
            raise TooManyBadImagesError(
                f'SkipBadImages: {found} bad images found by this process, '
                f'more than the cap of {cap} (max_skips={self.max_skips}, '
                f'max_skip_ratio={self.max_skip_ratio}):\n{listing}\n'
                'Run `python tools/check_images.py FOLDER` to list every bad '
                'file, then fix or remove them.')

    def __getitem__(self, idx: int) -> Any:
        if not self._fully_initialized:
            self.full_init()
        n = len(self.dataset)
        for step in range(n):
            j = (idx + step) % n
            if j in self._bad_indices:
                self.num_skips += 1
                print_log(
                    f'SkipBadImages: skipped index {j} again (known bad).',
                    logger='current',
                    level=logging.DEBUG)
                continue
            try:
                return self.dataset[j]
            except BadImageError as err:
                self._record(j, err)
        raise TooManyBadImagesError(
            f'SkipBadImages: none of the {n} images can be loaded.')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(dataset={type(self.dataset).__name__},'
                f' max_skips={self.max_skips}, '
                f'max_skip_ratio={self.max_skip_ratio}, '
                f'bad_files={len(self.bad_files)})')
