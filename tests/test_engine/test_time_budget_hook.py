"""TimeBudgetHook: stops at a wall-clock budget (a fake clock here, no
sleeping); with ``clock=True`` the iteration counter, the iteration-based
parameter schedulers and the averaged models' step counters follow the
elapsed fraction of the budget; with ``clock=False`` a run is unchanged."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel, ExponentialMovingAverage
from mmengine.optim import OptimWrapper
from torch import nn

from ssl_plugins.engine.hooks import TimeBudgetHook
from ssl_plugins.registry import HOOKS, PARAM_SCHEDULERS


class ToyModel(BaseModel):
    """A linear layer and its EMA copy, updated once per training step
    (as mmpretrain's ``CosineEMA`` target)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Linear(4, 1)
        self.ema = ExponentialMovingAverage(self.net)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.net(inputs)
        if mode != 'loss':
            return out
        self.ema.update_parameters(self.net)
        return dict(loss=out.pow(2).mean())


class FakeClock:
    """A clock that a hook moves on by one second per iteration."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Tick(Hook):
    """Each iteration takes 1 s (before the budget hook reads the clock);
    records the batch index and the lr."""
    priority = 'HIGHEST'

    def __init__(self, clock):
        self.clock, self.batch_idx, self.lrs = clock, [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.clock.now += 1.0
        self.batch_idx.append(batch_idx)
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])


def make_runner(work_dir, max_iters, budget=None):
    from mmengine.runner import Runner
    gen = torch.Generator().manual_seed(1)
    data = [dict(inputs=torch.randn(4, generator=gen)) for _ in range(8)]
    custom_hooks = [budget] if budget is not None else []
    return Runner(
        model=ToyModel(),
        work_dir=work_dir,
        train_dataloader=dict(dataset=data, batch_size=2,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=False),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        param_scheduler=[dict(type='CosineAnnealingLR', by_epoch=False,
                              begin=0, end=max_iters, T_max=max_iters)],
        custom_hooks=custom_hooks,
        default_hooks=dict(checkpoint=None, logger=None),
        default_scope='ssl_plugins',
        randomness=dict(seed=0),
        log_level='WARNING')


def test_registered_under_its_name():
    hook = HOOKS.build(dict(type='TimeBudgetHook', seconds=5, clock=True))
    assert isinstance(hook, TimeBudgetHook)
    assert (hook.seconds, hook.clock) == (5.0, True)


def test_stops_after_the_budget(tmp_path):
    clock = FakeClock()
    hook = TimeBudgetHook(5.0, timer=clock)
    runner = make_runner(str(tmp_path), max_iters=20, budget=hook)
    tick = Tick(clock)
    runner.register_hook(tick)
    runner.train()
    assert runner.iter == 5
    assert hook.stamps == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert tick.batch_idx == [0, 1, 2, 3, 4]  # counter not moved


def test_clock_moves_counter_schedulers_and_averaged_models(tmp_path):
    """Planned 30 iterations, budget 10 s, 1 s per iteration: after the
    k-th trained iteration the counter is at 3k, the lr cosine and the EMA
    step counter follow it, and the run stops at the budget."""
    clock = FakeClock()
    hook = TimeBudgetHook(10.0, clock=True, timer=clock)
    runner = make_runner(str(tmp_path), max_iters=30, budget=hook)
    tick = Tick(clock)
    runner.register_hook(tick)
    runner.train()
    assert len(hook.stamps) == 10
    assert tick.batch_idx == [3 * k for k in range(10)]
    assert runner.iter == 28  # 27 after the 9th; the 10th ends the budget
    (sched, ) = runner.param_schedulers
    assert sched.last_step == runner.iter
    assert int(runner.model.ema.steps) == runner.iter
    assert tick.lrs[-1] < 0.05 * max(tick.lrs)


class FakeLoop:
    """The counter of ``IterBasedTrainLoop``: ``iter`` reads ``_iter``."""

    def __init__(self, done):
        self._iter, self.stop_training = done, False

    @property
    def iter(self):
        return self._iter


class FakeRunner:

    def __init__(self, done, max_iters, schedulers, model):
        self.train_loop, self.max_iters = FakeLoop(done), max_iters
        self.param_schedulers, self.model = schedulers, model

    @property
    def iter(self):
        return self.train_loop.iter


def _schedulers():
    optim = OptimWrapper(torch.optim.SGD(nn.Linear(2, 2).parameters(),
                                         lr=0.1))
    return [
        PARAM_SCHEDULERS.build(
            dict(type='CosineAnnealingLR', optimizer=optim,
                 by_epoch=by_epoch, begin=0, end=100, T_max=100))
        for by_epoch in (False, True)]


@pytest.mark.parametrize('as_dict', [False, True])
def test_advance_steps_by_the_skipped_count(as_dict):
    per_iter, per_epoch = _schedulers()
    model = nn.Sequential(nn.Linear(2, 2))
    model.append(ExponentialMovingAverage(model[0]))
    groups = ([per_iter, per_epoch] if not as_dict else
              dict(a=[per_iter], b=[per_epoch]))
    # 9 iterations counted, this one (index 9) is the 10th; 25 s of 100 s
    runner = FakeRunner(9, 100, groups, model)
    hook = TimeBudgetHook(100.0, clock=True)
    assert hook.advance(runner, 25.0) == 25 - 10
    assert runner.train_loop.iter == 9 + 15
    assert per_iter.last_step == 15
    assert per_epoch.last_step == 0  # epoch-based: not stepped
    assert int(model[1].steps) == 15
    # the counter is ahead of the clock: nothing moves
    assert hook.advance(runner, 20.0) == 0
    assert runner.train_loop.iter == 24 and per_iter.last_step == 15
    assert int(model[1].steps) == 15


def test_clock_needs_a_loop_counter():
    """A loop without mmengine's ``_iter`` counter is refused before
    training, and only where the clock moves it."""

    class NoCounter:
        iter = 0

    runner = SimpleNamespace(train_loop=NoCounter())
    with pytest.raises(TypeError, match='NoCounter keeps no integer _iter'):
        TimeBudgetHook(100.0, clock=True).before_train(runner)
    TimeBudgetHook(100.0).before_train(runner)


@pytest.mark.parametrize('clock', [False, True])
def test_short_run_without_reaching_the_budget_is_unchanged(tmp_path, clock):
    """2 iterations far within the budget: same weights, lrs and counter as
    the same run without the hook (``clock=True``: the elapsed time never
    puts the counter ahead)."""
    runs = {}
    for name, budget in (('plain', None),
                         ('budget', TimeBudgetHook(1e9, clock=clock))):
        runner = make_runner(str(tmp_path / name), max_iters=2, budget=budget)
        tick = Tick(FakeClock())
        runner.register_hook(tick)
        runner.train()
        runs[name] = (runner, tick)
    (plain, plain_tick), (timed, timed_tick) = runs['plain'], runs['budget']
    assert timed.iter == plain.iter == 2
    assert timed_tick.batch_idx == plain_tick.batch_idx == [0, 1]
    assert timed_tick.lrs == plain_tick.lrs
    for a, b in zip(plain.model.state_dict().values(),
                    timed.model.state_dict().values()):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    hook = [h for h in timed.hooks if isinstance(h, TimeBudgetHook)][0]
    assert len(hook.stamps) == 2
