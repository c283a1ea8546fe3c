"""benchmarks/quality_lib (iterations, configs): the budgeted,
iteration-based runs follow each config's recipe (epoch-keyed hooks
converted to iterations, DINO's weight decay schedule kept), and their
schedules follow the elapsed time (``TimeBudgetHook(clock=True)``)."""
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from benchmarks.quality_lib.configs import CONFIGS, build_cfg
from benchmarks.quality_lib.iterations import iteration_hooks
from quality_helpers import BATCH, hooks_by_name, quality_args
from ssl_plugins.engine.hooks import TimeBudgetHook


def test_epoch_keyed_arguments_become_iterations(fake_fmnist, tmp_path):
    args = quality_args(fake_fmnist)
    dino = build_cfg('dino', 'ours', 12, str(tmp_path), args)
    assert dino.epoch_iters == 64 // BATCH
    hooks = hooks_by_name(dino)
    assert hooks['FreezeLastLayerHook'] == dict(type='FreezeLastLayerHook',
                                                freeze_iters=8)
    assert hooks['TeacherTempWarmupHook']['warmup_iters'] == 30 * 8
    assert 'warmup_epochs' not in hooks['TeacherTempWarmupHook']
    # the weight-decay cosine (0.04 -> 0.4 over the config's 3 epochs) is
    # kept, over the budget's iterations
    wd = [s for s in dino.param_scheduler
          if s.get('param_name') == 'weight_decay']
    assert wd == [dict(type='CosineAnnealingParamScheduler',
                       param_name='weight_decay', eta_min_ratio=10.0,
                       by_epoch=False, begin=0, end=12)]

    swav = hooks_by_name(
        build_cfg('swav', 'ours', 12, str(tmp_path), args))
    assert swav['SwAVQueueHook'] == dict(type='SwAVQueueHook', length=3840,
                                         start_iter=8)
    assert swav['FreezePrototypesHook']['iters'] == 20  # already iterations
    theirs = build_cfg('swav', 'mmpretrain', 12, str(tmp_path), args)
    hook = hooks_by_name(theirs)['IterSwAVHook']
    assert (hook['iter_queue_starts'], hook['queue_length'],
            hook['frozen_layers_cfg']) == (8, 3840, dict(prototypes=20))
    assert 'epoch_queue_starts' not in hook

    # --epoch-rule budget: the recipe's epochs compressed onto 12 iterations
    budget = build_cfg('dino', 'ours', 12, str(tmp_path),
                       quality_args(fake_fmnist, '--epoch-rule', 'budget'))
    epochs = Config.fromfile(CONFIGS['dino']).train_cfg.max_epochs
    assert hooks_by_name(budget)['FreezeLastLayerHook'][
        'freeze_iters'] == 12 // epochs


def test_unconverted_epoch_keyed_hook_is_refused():
    with pytest.raises(NotImplementedError, match='KNNHook.*EPOCH_ARGS'):
        iteration_hooks([dict(type='KNNHook')], 10)


class Snapshots(Hook):
    """Whether ``get(model)`` changed in each iteration."""
    priority = 'LOWEST'

    def __init__(self, get):
        self.get, self.changed = get, []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.before = [t.detach().clone() for t in self.get(runner.model)]

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        after = self.get(runner.model)
        self.changed.append(
            any(not torch.equal(a, b) for a, b in zip(self.before, after)))


def test_converted_dino_run_unfreezes_last_layer_after_one_epoch(
        fake_fmnist, tmp_path):
    cfg = build_cfg('dino', 'ours', 11, str(tmp_path),
                    quality_args(fake_fmnist))
    runner = Runner.from_cfg(cfg)
    last = Snapshots(lambda m: list(m.last_layer_parameters()))
    backbone = Snapshots(lambda m: list(m.backbone.parameters()))
    runner.register_hook(last)
    runner.register_hook(backbone)
    runner.train()
    # frozen during the converted epoch (8 iterations), trained after it
    assert last.changed == [False] * 8 + [True] * 3
    # the rest of the student learns throughout
    assert backbone.changed == [True] * 11


@pytest.mark.parametrize('impl', ['ours', 'mmpretrain'])
def test_converted_swav_queue_starts_after_one_epoch(fake_fmnist, tmp_path,
                                                     impl):
    cfg = build_cfg('swav', impl, 10, str(tmp_path),
                    quality_args(fake_fmnist))
    runner = Runner.from_cfg(cfg)
    started = []

    class QueueProbe(Hook):
        priority = 'LOWEST'

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            model = runner.model
            queue = (model.queue if impl == 'ours' else
                     model.head.loss_module.queue)
            # None before the start, then filled with the batch's embeddings
            started.append(None if queue is None else bool(queue.any()))

    runner.register_hook(QueueProbe())
    runner.train()
    assert started == [None] * 8 + [True] * 2


@pytest.mark.parametrize('impl', ['ours', 'mmpretrain'])
def test_schedules_follow_elapsed_time(fake_fmnist, tmp_path, impl):
    """A run planned at 30 iterations whose iterations take 3x longer than
    planned trains 10 and still ends its schedules at the budget: lr
    decayed, BYOL's tau near 1 (ours: ``TargetMomentumHook`` on
    ``runner.iter``; mmpretrain's: its ``CosineEMA`` step counter). Without
    the clock the same run stops with its lr near the peak."""
    from mmengine.model import BaseAveragedModel
    now = [0.0]

    class Tick(Hook):
        """Each iteration takes 1 s of the 10 s budget; records the lr."""
        priority = 'HIGHEST'
        lrs = []

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            now[0] += 1.0
            self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])

    def run(clock):
        Tick.lrs = []
        cfg = build_cfg('byol', impl, 30, str(tmp_path / str(clock)),
                        quality_args(fake_fmnist))
        runner = Runner.from_cfg(cfg)
        budget = TimeBudgetHook(10.0, clock=clock, timer=lambda: now[0])
        runner.register_hook(budget)
        runner.register_hook(Tick())
        runner.train()
        return runner, budget, list(Tick.lrs)

    runner, budget, lrs = run(clock=True)
    assert len(budget.stamps) == 10
    assert runner.iter >= 27
    assert lrs[-1] < 0.05 * max(lrs)
    if impl == 'mmpretrain':
        ema = [m for m in runner.model.modules()
               if isinstance(m, BaseAveragedModel)]
        assert [int(m.steps) for m in ema] == [runner.iter]
    else:
        assert runner.model.momentum > 0.999  # tau cosine 0.99 -> 1

    runner, budget, lrs = run(clock=False)
    assert len(budget.stamps) == 10 and runner.iter == 10
    assert lrs[-1] > 0.5 * max(lrs)
