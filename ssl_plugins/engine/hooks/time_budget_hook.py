"""Stop training after a wall-clock budget; optionally let every
iteration-keyed schedule follow the elapsed fraction of that budget."""
import time
from typing import Callable, List, Optional

from mmengine.hooks import Hook
from mmengine.model import BaseAveragedModel

from ssl_plugins.engine.hooks.arg_checks import check_number
from ssl_plugins.registry import HOOKS


@HOOKS.register_module()
class TimeBudgetHook(Hook):
    r"""Stop training after ``seconds`` of wall clock; record iteration times.

    After each training iteration the time since ``before_train`` is read;
    once it reaches ``seconds`` the loop is told to stop
    (``train_loop.stop_training``, as mmengine's ``EarlyStoppingHook``).
    ``stamps`` holds the clock reading after each iteration (its differences
    are the iteration times).

    With ``clock=True`` the run's iteration counter also follows the elapsed
    time (an iteration-based loop, ``IterBasedTrainLoop``, of ``max_iters``
    iterations): after iteration ``i`` (``i + 1`` done), with ``t`` seconds
    elapsed of the budget ``T``, it moves on by

    .. math::

        \mathrm{skip} = \lfloor t / T \cdot \mathrm{max\_iters}
        \rfloor - (i + 1)

    where that is positive, and steps every iteration-based parameter
    scheduler and the step counter of every ``BaseAveragedModel`` (e.g.
    mmpretrain's ``CosineEMA``) ``skip`` times too. Every iteration-keyed
    schedule (lr, weight decay, BYOL's tau through ``runner.iter``, hook
    arguments counted in iterations) then depends on the fraction of the
    budget spent, not on a count planned in advance: a run on a machine that
    gets busier trains fewer iterations but still ends its schedules at the
    budget. The counter only moves forward.

    Priority ``BELOW_NORMAL`` (60): ``after_train_iter`` runs before
    ``ParamSchedulerHook`` (LOW, 70) steps the schedulers for this
    iteration.

    Args:
        seconds (float): Wall-clock training budget, in seconds.
        clock (bool): Whether the iteration counter follows the elapsed
            time (see above). Defaults to False: only stop at the budget.
        timer (Callable[[], float], optional): The clock, in seconds.
            Defaults to ``time.perf_counter`` (tests give a fake one).

    Attributes:
        stamps (List[float]): Clock reading after each trained iteration.
    """

    priority = 'BELOW_NORMAL'

    def __init__(self,
                 seconds: float,
                 clock: bool = False,
                 timer: Optional[Callable[[], float]] = None) -> None:
        check_number('TimeBudgetHook', 'seconds', seconds, 0,
                     exclusive_minimum=True)
        self.seconds = float(seconds)
        self.clock = clock
        self.timer = timer or time.perf_counter
        self.start: Optional[float] = None
        self.stamps: List[float] = []

    def before_train(self, runner) -> None:
        """Start the clock (with ``clock=True``, first check that the loop
        has the counter to move).

        Args:
            runner (Runner): The runner.
        """
        if self.clock:
            self._move_loop_counter(runner.train_loop, 0)
        self.start = self.timer()
        self.stamps = []

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Record the time; stop at the budget, or follow the clock.

        Args:
            runner (Runner): The runner.
            batch_idx (int): Index of the iteration.
            data_batch: The iteration's data (unused).
            outputs: The model's outputs (unused).
        """
        now = self.timer()
        self.stamps.append(now)
        elapsed = now - self.start
        if elapsed >= self.seconds:
            runner.train_loop.stop_training = True
        elif self.clock:
            self.advance(runner, elapsed)

    def advance(self, runner, elapsed: float) -> int:
        """Move the counter and the schedules on to the elapsed time.

        Args:
            runner (Runner): The runner.
            elapsed (float): Seconds since ``before_train``.

        Returns:
            int: The iterations skipped (0 where the counter is ahead).
        """
        # iterations done once this one is counted (the loop adds 1 after
        # the after_train_iter hooks)
        done = runner.iter + 1
        skip = int(elapsed / self.seconds * runner.max_iters) - done
        if skip <= 0:
            return 0
        for scheduler in iteration_schedulers(runner):
            for _ in range(skip):
                scheduler.step()
        for module in runner.model.modules():
            if isinstance(module, BaseAveragedModel):
                module.steps += skip
        self._move_loop_counter(runner.train_loop, skip)
        return skip

    @staticmethod
    def _move_loop_counter(loop, skip: int) -> None:
        """Add ``skip`` to the train loop's iteration counter (0: only
        check that there is one).

        The one private access of this hook: mmengine 0.10.7's loops expose
        ``iter`` as a read-only property over ``_iter`` and have no public
        way to set it (mmengine's own ``Runner.resume`` writes
        ``train_loop._iter``, as here).

        Args:
            loop (BaseLoop): ``runner.train_loop``.
            skip (int): Iterations to add.

        Raises:
            TypeError: If the loop keeps no ``_iter`` counter.
        """
        if not isinstance(getattr(loop, '_iter', None), int):
            raise TypeError(
                f'TimeBudgetHook(clock=True): {type(loop).__name__} keeps no '
                'integer _iter counter (mmengine 0.10 loops do)')
        loop._iter += skip


def iteration_schedulers(runner) -> list:
    """The runner's parameter schedulers that step per iteration.

    Args:
        runner (Runner): The runner; ``runner.param_schedulers`` is a list,
            or a dict of lists (one per optimizer), or None.

    Returns:
        list: The schedulers with ``by_epoch=False``.
    """
    groups = runner.param_schedulers or []
    if isinstance(groups, dict):
        groups = [s for group in groups.values() for s in group]
    return [s for s in groups if not s.by_epoch]
