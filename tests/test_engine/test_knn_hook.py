import glob
import json
import os.path as osp

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FMNIST_CFG = osp.join(
    ROOT, 'configs/byol/'
    'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')


def tiny_byol_cfg(work_dir, hooks, data_root, epochs=2):
    """The Fashion-MNIST BYOL config shrunk to seconds on one core."""
    cfg = Config.fromfile(FMNIST_CFG)
    cfg.work_dir = work_dir
    # mmengine names the run's logger and visualizer by experiment name,
    # default the config name + a 1-second timestamp: two runs in the same
    # second would share them (and write into the first run's folder)
    cfg.experiment_name = osp.basename(osp.normpath(work_dir))
    cfg.train_dataloader.dataset.data_root = data_root
    for split in ('train', 'test'):
        cfg.knn_eval[split]['data_root'] = data_root
    cfg.model.backbone.update(stem_channels=8, base_channels=8)
    cfg.model.neck.update(in_channels=64, hid_channels=32, out_channels=16)
    cfg.model.head.predictor.update(in_channels=16,
                                    hid_channels=32,
                                    out_channels=16)
    cfg.train_dataloader.update(batch_size=32,
                                num_workers=0,
                                persistent_workers=False)
    cfg.train_dataloader.dataset.indices = 64
    cfg.knn_eval.batch_size = 64
    cfg.train_cfg.max_epochs = epochs
    cfg.param_scheduler = [
        dict(type='CosineAnnealingLR', by_epoch=False, T_max=epochs * 2)
    ]
    cfg.custom_hooks = list(cfg.custom_hooks) + hooks
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.log_level = 'WARNING'
    return cfg


def run(cfg):
    from mmengine.runner import Runner

    from ssl_plugins.utils import register_all_modules
    register_all_modules()
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def offline_knn(runner, backbone, k, max_samples=None):
    from ssl_plugins.evaluation import extract_features
    from ssl_plugins.evaluation.knn import knn_accuracy
    from ssl_plugins.registry import DATASETS
    feats = []
    for i, split in enumerate(('train', 'test')):
        cfg = dict(runner.cfg.knn_eval[split])
        if max_samples:
            cfg['indices'] = max_samples[i]
        dataset = DATASETS.build(cfg)
        if max_samples:
            assert len(dataset) == max_samples[i]
        feats.append(
            extract_features(backbone, runner.model.data_preprocessor, dataset,
                             64))
    return knn_accuracy(*feats[0], *feats[1], k=k, temperature=0.07)


def json_lines(work_dir):
    path = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))[-1]
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.mark.parametrize('source', ['online', 'target'])
def test_knn_hook_logs_what_offline_knn_computes(tmp_path, source,
                                                 fake_fmnist):
    # the target run evaluates on subsets (first 40 train / 20 test images)
    hook = dict(type='KNNHook',
                interval=1,
                k=(20, 5),
                source=source,
                before_train=(source == 'online'),
                max_samples=None if source == 'online' else (40, 20))
    runner = run(tiny_byol_cfg(str(tmp_path), [hook], fake_fmnist))
    lines = [r for r in json_lines(str(tmp_path)) if 'knn/top1' in r]
    expected_iters = ([0] if source == 'online' else []) + [2, 4]
    assert [r['step'] for r in lines] == expected_iters
    assert [r['epoch']
            for r in lines] == ([0] if source == 'online' else []) + [1, 2]
    assert ['knn/k5_top1' in r and 'knn/top5' in r
            for r in lines] == [True] * len(expected_iters)
    backbone = (runner.model.backbone
                if source == 'online' else runner.model.target.backbone)
    last = lines[-1]
    for k, prefix in ((20, 'knn/'), (5, 'knn/k5_')):
        ref = offline_knn(runner, backbone, k, hook['max_samples'])
        assert last[prefix + 'top1'] == pytest.approx(ref['top1'])
        assert last[prefix + 'top5'] == pytest.approx(ref['top5'])
    assert runner.message_hub.get_info('knn')['knn/top1'] == last['knn/top1']
    # the curves tool picks the kNN lines up on the iteration axis
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'plot_curves', osp.join(ROOT, 'tools/analysis/plot_curves.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    data = tool.series(tool.read_scalars(tool.find_scalars_file(
        str(tmp_path))))
    assert data['knn/top1'][0] == expected_iters
    assert 'loss' in data


def test_knn_hook_bad_source_and_missing_splits(tmp_path, fake_fmnist):
    from ssl_plugins.engine.hooks import KNNHook
    with pytest.raises(ValueError, match='source'):
        KNNHook(source='teacher_ema')
    with pytest.raises(ValueError, match='max_samples'):
        KNNHook(max_samples=10)
    cfg = tiny_byol_cfg(str(tmp_path), [dict(type='KNNHook')],
                        fake_fmnist,
                        epochs=1)
    cfg.knn_eval = None
    with pytest.raises(KeyError, match='knn_eval'):
        run(cfg)


def test_knn_hook_target_of_a_model_without_momentum_copy():
    from torch import nn

    from ssl_plugins.engine.hooks import KNNHook

    class Plain(nn.Module):  # an algorithm without target (SimSiam, ...)

        def __init__(self):
            super().__init__()
            self.backbone = nn.Linear(2, 2)

    model = Plain()
    assert KNNHook(source='student')._backbone(model) is model.backbone
    with pytest.raises(AttributeError,
                       match=r'^KNNHook\(source="target"\): Plain has no '
                       r'target\.backbone \(no momentum target\)$'):
        KNNHook(source='target')._backbone(model)
