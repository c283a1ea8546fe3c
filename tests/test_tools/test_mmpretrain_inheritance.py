"""Configs inheriting mmpretrain's self-supervised configs train.

``_base_ = 'mmpretrain::...'`` gives the inherited ``collate_fn`` a
``_scope_`` key that mmengine's ``build_dataloader`` passed on to
``default_collate`` (ssl_plugins.compat.scoped_functions).
"""
import glob
import math
import os
import os.path as osp

import mmpretrain
import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from helpers import PYTHON, read_scalars, run_tool

MMPRETRAIN_CONFIGS = osp.join(osp.dirname(mmpretrain.__file__), '.mim',
                              'configs')
BYOL = 'byol/byol_resnet50_16xb256-coslr-200e_in1k.py'


def _write(folder, name: str, text: str) -> str:
    path = osp.join(str(folder), name)
    with open(path, 'w') as f:
        f.write(text)
    return path


def _images(folder, n: int = 4) -> str:
    from PIL import Image
    rng = np.random.default_rng(0)
    os.makedirs(str(folder), exist_ok=True)
    for i in range(n):
        pixels = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(osp.join(str(folder), f'{i}.png'))
    return str(folder)


def test_inherited_byol_config_trains(tmp_path):
    """The README's example, trained by tools/train.py (2 iterations)."""
    images = _images(tmp_path / 'images')
    config = _write(tmp_path, 'byol_from_mmpretrain.py', f"""\
_base_ = 'mmpretrain::{BYOL}'
default_scope = 'ssl_plugins'
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CustomDataset', data_root={images!r},
                 with_label=False, pipeline={{{{_base_.train_pipeline}}}}))
model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN')),
    neck=dict(in_channels=512, hid_channels=64),
    head=dict(predictor=dict(hid_channels=64)))
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
""")
    work = str(tmp_path / 'work')
    run_tool([PYTHON, 'tools/train.py', config, '--work-dir', work])
    losses = read_scalars(work)
    assert [it for it, _ in losses] == [1, 2]
    assert all(math.isfinite(v) for _, v in losses)
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


def _self_supervised_configs() -> list:
    """One (non-lazy) config per folder of mmpretrain whose model is a
    self-supervised algorithm."""
    from mmpretrain.models.selfsup import BaseSelfSupervisor
    from mmpretrain.registry import MODELS
    found = []
    for folder in sorted(os.listdir(MMPRETRAIN_CONFIGS)):
        for path in sorted(glob.glob(osp.join(MMPRETRAIN_CONFIGS, folder,
                                              '*.py'))):
            with open(path) as f:
                if 'read_base' in f.read():
                    continue
            try:
                model_type = Config.fromfile(path).model.type
            except Exception:  # a folder of configs we cannot parse at all
                break
            cls = MODELS.get(model_type) if isinstance(model_type,
                                                       str) else None
            if isinstance(cls, type) and issubclass(cls, BaseSelfSupervisor):
                found.append(osp.relpath(path, MMPRETRAIN_CONFIGS))
            break
    return found


def test_every_inherited_self_supervised_loader_collates(tmp_path):
    """Each self-supervised config of mmpretrain, inherited through
    ``mmpretrain::``, gives a loader whose first batch collates."""
    configs = _self_supervised_configs()
    assert len(configs) >= 15 and BYOL in configs, configs
    failures = {}
    for name in configs:
        child = _write(tmp_path, 'child.py',
                       f"_base_ = 'mmpretrain::{name}'\n")
        loader_cfg = Config.fromfile(child).train_dataloader.to_dict()
        assert loader_cfg['collate_fn'].get('_scope_') == 'mmpretrain', name
        loader_cfg.update(num_workers=0, persistent_workers=False,
                          batch_size=2,
                          dataset=[dict(inputs=torch.ones(3, 4, 4))] * 2)
        try:
            batch = next(iter(Runner.build_dataloader(loader_cfg)))
            assert batch['inputs'].shape == (2, 3, 4, 4)
        except Exception as err:  # noqa: BLE001 (collect them all)
            failures[name] = repr(err)
    assert not failures, failures
