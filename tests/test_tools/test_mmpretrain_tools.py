"""mmpretrain's own tools run our shipped configs.

Every shipped config declares ``custom_imports`` for ``ssl_plugins``
(configs/_base_/default_runtime.py), so the installed mmpretrain scripts,
which never import us themselves, get our registries and fixes. Each
script runs in a subprocess on the tiny fake Fashion-MNIST.
"""
import glob
import json
import os
import os.path as osp

import mmpretrain
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from helpers import PYTHON, REPO, read_scalars, run_tool

MMPRETRAIN_TOOLS = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools')
BYOL = ('configs/byol/'
        'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')
LINEAR = ('configs/benchmarks/linear_eval/'
          'resnet18-w32-s2_linear-1xb256-sgd-coslr-10e_fashion-mnist.py')
CUSTOM_IMPORTS = dict(imports=['ssl_plugins'], allow_failed_imports=False)


def _tool(path: str, *args: str):
    return run_tool([PYTHON, osp.join(MMPRETRAIN_TOOLS, path), *args])


def _shipped_configs() -> list:
    """Every full config we ship (no _base_ files, no ``_name.py`` parts)."""
    paths = glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    return sorted(p for p in paths if '_base_' not in p.split(os.sep)
                  and not osp.basename(p).startswith('_'))


def test_every_shipped_config_imports_ssl_plugins():
    configs = _shipped_configs()
    assert len(configs) >= 20
    missing = [
        osp.relpath(p, REPO) for p in configs
        if Config.fromfile(p, import_custom_modules=False).get(
            'custom_imports') != CUSTOM_IMPORTS
    ]
    assert not missing, missing


def test_model_and_datasets_carry_our_scope():
    """What lets mmpretrain's scope-forcing tools build our classes."""
    from mmpretrain.registry import DATASETS as MMP_DATASETS

    from ssl_plugins.datasets import FashionMNIST
    cfg = Config.fromfile(osp.join(REPO, LINEAR))
    assert cfg.model._scope_ == 'ssl_plugins'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset._scope_ == 'ssl_plugins'
    assert cfg.model.backbone.get('_scope_') is None  # outermost dicts only
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        cls = MMP_DATASETS.get(cfg.train_dataloader.dataset.type)
        assert cls is not FashionMNIST  # the name alone: mmpretrain's class
        with MMP_DATASETS.switch_scope_and_registry(
                cfg.train_dataloader.dataset._scope_) as registry:
            assert registry.get('FashionMNIST') is FashionMNIST


def test_browse_dataset_draws_our_pipeline(fake_fmnist, tmp_path):
    out = str(tmp_path / 'browse')
    _tool('visualization/browse_dataset.py', BYOL, '--mode', 'pipeline',
          '--show-number', '2', '--not-show', '--output-dir', out,
          '--cfg-options', f'train_dataloader.dataset.data_root={fake_fmnist}')
    import cv2
    images = sorted(os.listdir(out))
    assert images == ['0.jpg', '1.jpg']
    for name in images:
        img = cv2.imread(osp.join(out, name))
        # a grid of the original and both views, not an empty canvas
        assert img is not None and img.shape[1] > img.shape[0] > 200
        assert img.std() > 10


def test_get_flops_builds_our_model():
    proc = _tool('analysis_tools/get_flops.py', BYOL, '--shape', '28')
    assert 'ResNet10_CIFAR' in proc.stdout  # ours, unknown to mmpretrain
    assert 'Flops:' in proc.stdout and 'Params:' in proc.stdout


def test_train_runs_our_config(fake_fmnist, tmp_path):
    work = str(tmp_path / 'work')
    _tool('train.py', BYOL, '--work-dir', work, '--cfg-options',
          f'train_dataloader.dataset.data_root={fake_fmnist}',
          'train_dataloader.batch_size=32', 'train_dataloader.num_workers=0',
          'train_dataloader.persistent_workers=False',
          'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1')
    losses = read_scalars(work)
    assert [it for it, _ in losses] == [1, 2]
    assert all(np.isfinite(v) for _, v in losses)
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


def test_test_runs_our_linear_eval_config(fake_fmnist, tmp_path):
    """tools/test.py needs test_dataloader / test_evaluator: our
    linear-evaluation configs have them (pretraining configs do not)."""
    from ssl_plugins.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, LINEAR))
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'linear.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    work = str(tmp_path / 'work')
    _tool('test.py', LINEAR, ckpt, '--work-dir', work, '--cfg-options',
          f'test_dataloader.dataset.data_root={fake_fmnist}',
          'test_dataloader.batch_size=16', 'test_dataloader.num_workers=0',
          'test_dataloader.persistent_workers=False',
          'model.backbone.init_cfg=None')
    results = glob.glob(osp.join(work, '*', '*.json'))
    assert results, os.listdir(work)
    with open(results[0]) as f:
        metrics = json.load(f)
    assert 0 <= metrics['accuracy/top1'] <= 100
