"""Fractional-epoch schedulers on epochs of very few iterations.

With ``convert_to_iter_based=True`` mmengine 0.10.7 turns a scheduler's
``begin`` / ``end`` (in epochs) into iterations with ``int(value *
epoch_length)`` (each ``build_iter_from_epoch`` in
``mmengine/optim/scheduler/param_scheduler.py``). Our configs warm up for a
fraction of an epoch, e.g. ``LinearLR(begin=0, end=0.3)`` then a cosine from
``0.3``. Two things go wrong on short epochs:

- fewer than 4 iterations per epoch (a batch larger than the data, 2
  processes on 64 images): ``int(0.3 * 2) == 0`` and mmengine refuses the
  warm-up with ``end should be larger than begin``;
- 4 to 6 iterations per epoch: the warm-up becomes ``[0, 1)``, one
  iteration. mmengine's ``LinearLR`` (and ``ConstantLR``) reach their end
  factor at iteration ``end - 1``; over one iteration they apply
  ``start_factor`` and never remove it, so the whole run trains at
  ``start_factor`` times the schedule (1e-3 x lr), silently.

The rule installed here: a value that is not a whole number of epochs and
converts to fewer than 2 iterations converts to 2. A warm-up from 0 then
runs its first iteration at ``start_factor`` and reaches the base value at
the second, the shortest warm-up mmengine's schedulers can express. Every
other value converts as in mmengine (long epochs are unchanged). The rule
depends on the value and the epoch length only, so a scheduler that begins
where the previous one ends (``begin=0.3`` after ``end=0.3``) still begins
at the same iteration.

What would still last no iteration (``begin=1.2, end=1.4`` at 2 iterations
per epoch), and a converted ``LinearLR`` / ``ConstantLR`` of a single
iteration (the stuck factor above), stop with an error naming the
scheduler, its ``begin`` / ``end`` and the iterations per epoch.

The conversion is done in the ``PARAM_SCHEDULERS`` registries' build
function (mmengine's ``build_scheduler_from_cfg``), so it covers every
scheduler class, mmengine's, mmpretrain's and user-defined ones alike.
"""
import copy
import logging
from fractions import Fraction
from typing import Any, Callable, Optional

from mmengine.logging import print_log

INF = int(1e9)  # mmengine's ``end`` default (optim.scheduler.param_scheduler)
# the shortest LinearLR that reaches its end factor: [0, 2)
MIN_FRACTIONAL_ITERS = 2


def epoch_to_iter(value: float, epoch_length: int) -> int:
    """Convert an epoch position to an iteration as this patch does.

    Args:
        value (float): Position in epochs (``begin`` / ``end``).
        epoch_length (int): Iterations per epoch.

    Returns:
        int: ``int(value * epoch_length)`` (mmengine's rule), except
        ``MIN_FRACTIONAL_ITERS`` where that is smaller for a value that is not
        a whole number of epochs.
    """
    iteration = int(value * epoch_length)
    if value != int(value) and iteration < MIN_FRACTIONAL_ITERS:
        return MIN_FRACTIONAL_ITERS
    return iteration


def _with_iteration(value: float, iteration: int,
                    epoch_length: int) -> Any:
    """An epoch value that mmengine's ``int(v * epoch_length)`` maps to
    ``iteration`` exactly (a ``Fraction``), or ``value`` if it already does."""
    if int(value * epoch_length) == iteration:
        return value
    return Fraction(iteration, epoch_length)


def _factor_sticks(registry, name: Any) -> bool:
    """Whether the scheduler is a linear / constant one (their factor stays
    for good when they last one iteration)."""
    from mmengine.optim.scheduler.param_scheduler import (
        ConstantParamScheduler, LinearParamScheduler)
    cls = name
    if isinstance(name, str):
        try:
            with registry.switch_scope_and_registry(None) as scoped:
                cls = scoped.get(name)
        except Exception:
            return False
    return isinstance(cls, type) and issubclass(
        cls, (ConstantParamScheduler, LinearParamScheduler))


def _wrap_build(original: Callable) -> Callable:
    """Return a build function that fixes ``begin`` / ``end`` first."""

    def build_scheduler_from_cfg(cfg, registry, default_args=None):
        merged = dict(default_args or {})
        merged.update(cfg)
        epoch_length = merged.get('epoch_length')
        if not merged.get('convert_to_iter_based', False) or not epoch_length:
            return original(cfg, registry, default_args)
        begin = merged.get('begin', 0)
        end = merged.get('end', INF)
        name = merged.get('type')
        name = getattr(name, '__name__', name)
        first = epoch_to_iter(begin, epoch_length)
        last = end if end == INF else epoch_to_iter(end, epoch_length)
        if end != INF and end > begin and (
                last <= first or
                (last - first == 1 and _factor_sticks(registry, name))):
            what = ('would last no iteration' if last <= first else
                    'would last one iteration, which applies its start '
                    'factor and never reaches its end factor in mmengine')
            raise ValueError(
                f'{name}: begin={begin} and end={end} epochs are iterations '
                f'{first} and {last} at {epoch_length} iteration(s) per epoch '
                f'(convert_to_iter_based=True), so the scheduler {what}. Use '
                'more iterations per epoch (a smaller batch size or fewer '
                'processes) or set its begin / end (and those of the '
                'schedulers next to it) further apart.')
        cfg = copy.copy(cfg)
        changed = []
        for key, value, iteration in (('begin', begin, first),
                                      ('end', end, last)):
            if value == INF or key not in cfg:
                continue
            new = _with_iteration(value, iteration, epoch_length)
            if new is not value:
                cfg[key] = new
                was = int(value * epoch_length)
                changed.append(f'{key}={value} epoch -> iteration '
                               f'{iteration} (not {was})')
        if changed:
            print_log(
                f'{name}: {epoch_length} iteration(s) per epoch; '
                + '; '.join(changed) + ' (a fractional epoch is at least '
                f'{MIN_FRACTIONAL_ITERS} iterations: a warm-up from 0 '
                'starts at its start factor and reaches the base value at '
                'iteration 2, where what follows it starts; '
                'ssl_plugins.compat.small_epoch_schedulers)',
                logger='current', level=logging.WARNING)
        return original(cfg, registry, default_args)

    build_scheduler_from_cfg._ssl_plugins_original = original
    return build_scheduler_from_cfg


def _patch_tree(registry, original: Callable, patched: Callable) -> None:
    if registry.build_func is original:
        registry.build_func = patched
    for child in registry.children.values():
        _patch_tree(child, original, patched)


def patch_small_epoch_schedulers(root: Optional[Any] = None) -> None:
    """Install the conversion in every ``PARAM_SCHEDULERS`` registry.

    Registries created later inherit the build function of their parent.
    Idempotent.

    Args:
        root (Registry, optional): The root registry; mmengine's
            ``PARAM_SCHEDULERS`` by default.
    """
    from mmengine.registry import build_functions

    if root is None:
        from mmengine.registry import PARAM_SCHEDULERS as root
    original = build_functions.build_scheduler_from_cfg
    if hasattr(original, '_ssl_plugins_original'):  # already installed
        patched, original = original, original._ssl_plugins_original
    else:
        patched = _wrap_build(original)
        build_functions.build_scheduler_from_cfg = patched
    _patch_tree(root, original, patched)
