"""benchmarks/quality.py: the budgeted, iteration-based runs follow each
config's recipe (epoch-keyed hooks converted to iterations, DINO's weight
decay schedule kept), and the script runs end to end on a tiny setting
(tiny fake data set; no accuracy is asserted)."""
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from benchmarks import quality

BYOL_BATCHED = (f'{quality.REPO}/configs/byol/byol_resnet10-w16-s2-mlp1024_'
                '1xb256-coslr-4e_fashion-mnist_batched-aug.py')
BATCH = 8  # the fake train set has 64 images: 1 epoch = 8 iterations


def args_for(fake_fmnist, *extra):
    return quality.parse_args(['--batch-size', str(BATCH), '--num-workers',
                               '0', '--data-root', fake_fmnist,
                               '--epoch-rule', 'data', *extra])


def hooks_by_name(cfg):
    return {h['type'].split('.')[-1]: h for h in cfg.custom_hooks}


def test_epoch_keyed_arguments_become_iterations(fake_fmnist, tmp_path):
    args = args_for(fake_fmnist)
    dino = quality.build_cfg('dino', 'ours', 12, str(tmp_path), args)
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
        quality.build_cfg('swav', 'ours', 12, str(tmp_path), args))
    assert swav['SwAVQueueHook'] == dict(type='SwAVQueueHook', length=3840,
                                         start_iter=8)
    assert swav['FreezePrototypesHook']['iters'] == 20  # already iterations
    theirs = quality.build_cfg('swav', 'mmpretrain', 12, str(tmp_path), args)
    hook = hooks_by_name(theirs)['IterSwAVHook']
    assert (hook['iter_queue_starts'], hook['queue_length'],
            hook['frozen_layers_cfg']) == (8, 3840, dict(prototypes=20))
    assert 'epoch_queue_starts' not in hook

    # --epoch-rule budget: the recipe's epochs compressed onto 12 iterations
    budget = quality.build_cfg('dino', 'ours', 12, str(tmp_path),
                               args_for(fake_fmnist, '--epoch-rule',
                                        'budget'))
    epochs = Config.fromfile(quality.CONFIGS['dino']).train_cfg.max_epochs
    assert hooks_by_name(budget)['FreezeLastLayerHook'][
        'freeze_iters'] == 12 // epochs


def test_unconverted_epoch_keyed_hook_is_refused():
    with pytest.raises(NotImplementedError, match='KNNHook.*EPOCH_ARGS'):
        quality.iteration_hooks([dict(type='KNNHook')], 10)


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
    cfg = quality.build_cfg('dino', 'ours', 11, str(tmp_path),
                            args_for(fake_fmnist))
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
    cfg = quality.build_cfg('swav', impl, 10, str(tmp_path),
                            args_for(fake_fmnist))
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


def test_swav_and_dino_end_to_end(fake_fmnist, tmp_path):
    md = tmp_path / 'bench.md'
    md.write_text('# head\n\n<!-- quality:begin -->\nold\n'
                  '<!-- quality:end -->\ntail\n')
    results = quality.main([
        '--methods', 'swav', 'dino', '--budget-min', '0.005', '--batch-size',
        str(BATCH), '--num-workers', '0', '--data-root', fake_fmnist,
        '--knn-train', '64', '--knn-test', '32', '--markdown', str(md),
        '--work-dir', str(tmp_path / 'work'), '--epoch-rule', 'data'
    ])
    rows = {(r['name'], r['impl'].split(' (')[0]): r for r in results}
    assert set(rows) == {('raw pixels', '-'), ('swav', 'random init'),
                         ('swav', 'ours'), ('swav', 'mmpretrain'),
                         ('dino', 'random init'), ('dino', 'ours'),
                         ('dino', 'mmpretrain')}
    assert rows['dino', 'ours']['impl'] == 'ours (teacher)'
    assert rows['dino', 'mmpretrain']['knn'] is None
    for key, row in rows.items():
        if key != ('dino', 'mmpretrain'):
            # one top-1 per k (default --k 20 200), each a percentage
            assert [0 <= v <= 100
                    for v in row['knn'].values()] == [True, True], key
    text = md.read_text()
    assert 'old' not in text and text.rstrip().endswith('tail')
    assert '| dino | mmpretrain | n/a | n/a | n/a |' in text
    assert 'FreezeLastLayerHook freeze_epochs=1 -> freeze_iters=8' in text
    assert 'no DINO' in text
    assert rows['dino', 'ours']['knn_student'].keys() == {20, 200}
    assert "dino, ours (teacher): the student's backbone: " in text


def test_fixed_iterations_and_merge_of_concurrent_runs(fake_fmnist, tmp_path):
    """``--iters`` trains exactly N iterations; ``--merge`` puts the rows of
    separate runs (ours / mmpretrain as two processes) into one table in
    method order and refuses runs made with other settings."""
    common = ['--methods', 'simsiam', '--iters', '3', '--batch-size',
              str(BATCH), '--num-workers', '0', '--data-root', fake_fmnist,
              '--knn-train', '64', '--knn-test', '32', '--markdown',
              str(tmp_path / 'unused.md')]
    for impl in ('mmpretrain', 'ours'):
        results = quality.main(common + [
            '--impls', impl, '--json', str(tmp_path / f'{impl}.json'),
            '--work-dir', str(tmp_path / impl)])
        assert results[-1]['iters'] == 3
    md = tmp_path / 'bench.md'
    rows = quality.main(['--merge', str(tmp_path / 'mmpretrain.json'),
                         str(tmp_path / 'ours.json'), '--markdown', str(md)])
    assert [(r['name'], r['impl'].split(' (')[0]) for r in rows] == [
        ('raw pixels', '-'), ('simsiam', 'random init'),
        ('simsiam', 'random init'), ('simsiam', 'ours'),
        ('simsiam', 'mmpretrain')]
    assert 'BN as initialised' in rows[1]['impl']
    assert 'BN statistics of the train images' in rows[2]['impl']
    text = md.read_text()
    assert text.count('| simsiam | ours | 3 |') == 1
    assert 'benchmarks/quality.py --merge' in text
    quality.main(common + ['--impls', 'ours', '--iters', '2', '--json',
                           str(tmp_path / 'other.json'), '--work-dir',
                           str(tmp_path / 'other')])
    with pytest.raises(ValueError, match="other.json.*'iters': \\(3, 2\\)"):
        quality.main(['--merge', str(tmp_path / 'ours.json'),
                      str(tmp_path / 'other.json')])


def test_bf16_applies_to_ours_only(fake_fmnist, tmp_path):
    args = args_for(fake_fmnist, '--bf16')
    ours = quality.build_cfg('byol', 'ours', 10, str(tmp_path), args)
    assert ours.optim_wrapper.type == 'AutocastOptimWrapper'
    assert ours.optim_wrapper.dtype == 'bfloat16'
    assert ours.optim_wrapper.optimizer.type == 'LARS'  # kept
    theirs = quality.build_cfg('byol', 'mmpretrain', 10, str(tmp_path), args)
    assert theirs.optim_wrapper.type == 'OptimWrapper'
    # our NHWC hook is not given to mmpretrain's runs
    assert 'ChannelsLastHook' in str(ours.custom_hooks)
    assert 'ChannelsLastHook' not in str(theirs.custom_hooks)


@pytest.mark.parametrize('impl', ['ours', 'mmpretrain'])
def test_schedules_follow_elapsed_time(fake_fmnist, tmp_path, monkeypatch,
                                       impl):
    """A run planned at 30 iterations whose iterations take 3x longer than
    planned trains 10 and still ends its schedules at the budget: lr
    decayed, BYOL's tau near 1 (ours: ``TargetMomentumHook`` on
    ``runner.iter``; mmpretrain's: its ``CosineEMA`` step counter). Without
    the clock the same run stops with its lr near the peak."""
    from mmengine.model import BaseAveragedModel
    now = [0.0]
    monkeypatch.setattr(quality.time, 'perf_counter', lambda: now[0])

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
        cfg = quality.build_cfg('byol', impl, 30, str(tmp_path / str(clock)),
                                args_for(fake_fmnist))
        runner = Runner.from_cfg(cfg)
        budget = quality._Budget(10.0, clock=clock)
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


def test_batched_aug_is_the_shipped_batched_config(fake_fmnist, tmp_path):
    """``--aug batched`` (default) turns our per-image BYOL config into what
    the hand-written ``_batched-aug`` config says: same crops, same draws
    per view; mmpretrain's runs keep the per-image pipeline."""
    from ssl_plugins.registry import MODELS
    ours = quality.build_cfg('byol', 'ours', 10, str(tmp_path),
                             args_for(fake_fmnist))
    shipped = Config.fromfile(BYOL_BATCHED)
    assert (ours.train_dataloader.dataset.pipeline
            == shipped.train_dataloader.dataset.pipeline)
    a, b = (MODELS.build(c.model.data_preprocessor) for c in (ours, shipped))
    assert a.num_views == b.num_views == [1, 1]
    for x, y in zip(a.augments, b.augments):
        assert x.sample_cfg == y.sample_cfg
        assert x.solarize_threshold == pytest.approx(y.solarize_threshold)

    theirs = quality.build_cfg('byol', 'mmpretrain', 10, str(tmp_path),
                               args_for(fake_fmnist))
    assert theirs.model.data_preprocessor.type == (
        'mmpretrain.SelfSupDataPreprocessor')
    assert theirs.train_dataloader.dataset.pipeline[0]['transforms'][1][
        -1] == dict(type='Solarize', thr=128, prob=0.2)
    per_image = quality.build_cfg('byol', 'ours', 10, str(tmp_path),
                                  args_for(fake_fmnist, '--aug', 'per-image'))
    assert per_image.model.data_preprocessor.type == 'SelfSupDataPreprocessor'


@pytest.mark.parametrize('method,views', [('simsiam', [2]),
                                          ('swav', [2, 6]),
                                          ('dino', [1, 1, 6])])
def test_batched_aug_of_each_config(fake_fmnist, tmp_path, method, views):
    ours = quality.build_cfg(method, 'ours', 10, str(tmp_path),
                             args_for(fake_fmnist))
    augs = ours.model.data_preprocessor.view_augments
    assert [a['num_views'] for a in augs] == views
    crop = ours.train_dataloader.dataset.pipeline[0]
    assert crop['transforms'] == [[] for _ in views]
    assert [(a['jitter_prob'], a['grayscale_prob'], a['blur_prob'])
            for a in augs] == [(0.8, 0.2, 0.0)] * len(views)
    if method == 'dino':  # solarize on the second global crop only
        assert [a['solarize_prob'] for a in augs] == [0.0, 0.2, 0.0]


def test_batched_aug_refuses_what_it_cannot_convert():
    with pytest.raises(
            NotImplementedError,
            match=r"transforms\[1\]: no batched twin.*GaussianBlur"):
        quality.photometric_kwargs([dict(type='GaussianBlur', prob=0.5,
                                         magnitude_range=(0.1, 2.0))],
                                   'MultiCrop transforms[1]')
    cfg = Config.fromfile(BYOL_BATCHED)
    with pytest.raises(ValueError, match='per-image pipeline'):
        quality.mmpretrain_model(cfg)


@pytest.mark.parametrize('method', ['byol', 'swav', 'simsiam'])
def test_mmpretrain_model_trains_the_configs_network(method, fake_fmnist):
    """mmpretrain's model gets our config's backbone: its own class where it
    has one (ResNet_CIFAR), else ours (ResNet10_CIFAR), same arguments."""
    from ssl_plugins.registry import MODELS
    cfg = quality.load_cfg(method, args_for(fake_fmnist))
    theirs = quality.mmpretrain_model(cfg)
    ours_bb = MODELS.build(cfg.model.backbone)
    theirs_bb = MODELS.build(theirs['backbone'])
    assert type(theirs_bb).__name__ == type(ours_bb).__name__
    assert (type(theirs_bb).__module__.startswith('mmpretrain')
            == (cfg.model.backbone.type == 'ResNet_CIFAR'))
    assert {k: v.shape for k, v in theirs_bb.state_dict().items()} == {
        k: v.shape for k, v in ours_bb.state_dict().items()}
