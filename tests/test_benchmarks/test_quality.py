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
    assert all(backbone.changed)  # the rest of the student learns throughout


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
            assert all(0 <= v <= 100 for v in row['knn'].values()), key
    text = md.read_text()
    assert 'old' not in text and text.rstrip().endswith('tail')
    assert '| dino | mmpretrain | n/a | n/a | n/a |' in text
    assert 'FreezeLastLayerHook freeze_epochs=1 -> freeze_iters=8' in text
    assert 'no DINO' in text


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
