"""The multi-crop Fashion-MNIST configs and the demo config train through
tools/train.py on real Fashion-MNIST images."""
import math
import os.path as osp
import re

import pytest
from mmengine.config import Config

from helpers import REPO, load_plain, read_scalars, train

MCROP = {
    'byol': 'configs/byol/'
    'byol_resnet10-w16-s2-mlp1024_1xb256-mcrop-2-6-coslr-4e_fashion-mnist.py',
    'simsiam': 'configs/simsiam/'
    'simsiam_resnet18-w32-s2_1xb256-mcrop-2-6-coslr-3e_fashion-mnist.py',
    'barlow_twins': 'configs/barlow_twins/barlowtwins_resnet18-w32-s2-'
    'proj2048_1xb256-mcrop-2-6-coslr-3e_fashion-mnist.py',
}
TINY = ('train_dataloader.batch_size=32',
        'train_dataloader.dataset.indices=128',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'default_hooks.logger.interval=1', 'log_processor.window_size=1')


def demo_config():
    with open(osp.join(REPO, 'Makefile')) as f:
        return re.search(r'^DEMO_CONFIG := (\S+)', f.read(), re.M).group(1)


@pytest.mark.parametrize('method', sorted(MCROP))
def test_multi_crop_config_feeds_eight_views_and_trains(method, tmp_path):
    from mmengine.registry import DefaultScope

    from ssl_plugins.registry import DATASETS
    cfg = Config.fromfile(osp.join(REPO, MCROP[method]))
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.indices = 4
    with DefaultScope.overwrite_default_scope('ssl_plugins'):
        sample = DATASETS.build(ds_cfg)[0]
    sizes = [tuple(v.shape[-2:]) for v in sample['inputs']]
    assert sizes == [(28, 28)] * 2 + [(12, 12)] * 6
    work_dir = str(tmp_path)
    train(MCROP[method], work_dir, *TINY, 'train_cfg.max_epochs=1')
    losses = [v for _, v in read_scalars(work_dir, 'loss')]
    assert len(losses) == 4 and all(math.isfinite(v) for v in losses)


def test_demo_config_trains_in_bf16_with_a_256_d_backbone(tmp_path):
    config = demo_config()
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    work_dir = str(tmp_path)
    train(config, work_dir, *TINY,
          'custom_hooks.2.max_samples=(64,32)')
    ckpt = load_plain(osp.join(work_dir, 'epoch_10.pth'))
    assert ckpt['state_dict']['backbone.layer4.0.conv2.weight'].shape[0] \
        == 256
    assert len(read_scalars(work_dir, 'loss')) == 40  # 10 epochs x 4
    assert [it for it, _ in read_scalars(work_dir, 'knn/top1')] \
        == [20, 40]  # the online kNN of epochs 5 and 10
