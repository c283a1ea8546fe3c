"""SimSiam and Barlow Twins Fashion-MNIST configs train through
tools/train.py; the loss decreases."""
import os.path as osp

import pytest

from helpers import load_plain, read_scalars, train

SIMSIAM = ('configs/simsiam/'
           'simsiam_resnet18-w32-s2_1xb256-coslr-3e_fashion-mnist.py')
BARLOW = ('configs/barlow_twins/barlowtwins_resnet18-w32-s2-proj2048_'
          '1xb256-coslr-3e_fashion-mnist.py')
# 2 epochs of 8 iterations (256 real Fashion-MNIST images, batch 32), raw
# per-iteration losses.
TINY = ('train_dataloader.batch_size=32',
        'train_dataloader.dataset.indices=256',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=2',
        'default_hooks.logger.interval=1', 'log_processor.window_size=1')


def _train(config: str, work_dir: str):
    train(config, work_dir, *TINY)
    ckpt = load_plain(osp.join(work_dir, 'epoch_2.pth'))
    return work_dir, ckpt


def _assert_decreases(losses):
    assert len(losses) == 16
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4, losses


def test_simsiam_fashion_mnist_trains_with_fixed_predictor_lr(tmp_path):
    work_dir, ckpt = _train(SIMSIAM, str(tmp_path))
    losses = [v for _, v in read_scalars(work_dir, 'loss')]
    _assert_decreases(losses)
    assert all(-1.0 <= v <= 1.0 for v in losses)
    z_std = [v for _, v in read_scalars(work_dir, 'z_std')]
    assert [0.0 < v < 1.0 for v in z_std] == [True] * 16, z_std
    groups = ckpt['optimizer']['param_groups']
    fixed = [g['lr'] for g in groups if g.get('fix_lr')]
    others = [g['lr'] for g in groups if not g.get('fix_lr')]
    assert len(
        fixed) == 5  # predictor: Linear, BN weight+bias, Linear weight+bias
    assert fixed == pytest.approx([0.05] * 5)
    assert max(others) < 0.05 * 0.5  # cosine, 16 of 24 iterations done


def test_barlow_twins_fashion_mnist_trains(tmp_path):
    work_dir, ckpt = _train(BARLOW, str(tmp_path))
    _assert_decreases([v for _, v in read_scalars(work_dir, 'loss')])
    weights, biases_norms = ckpt['optimizer']['param_groups']
    assert biases_norms['lars_exclude'] and biases_norms['weight_decay'] == 0.0
    assert biases_norms['lr'] == pytest.approx(weights['lr'] * 0.024)
