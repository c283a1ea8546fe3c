"""SimSiam and Barlow Twins Fashion-MNIST configs train through tools/train.py; the loss decreases."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TINY = ['train_dataloader.batch_size=32', 'train_dataloader.dataset.indices=256',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=2', 'default_hooks.logger.interval=1', 'log_processor.window_size=1']


def _train(config: str, work_dir: str):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), osp.join(ROOT, config),
           '--work-dir', work_dir, '--cfg-options', *TINY]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (scalars, ) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(scalars) as f:
        records = [json.loads(line) for line in f]
    return [r for r in records if 'loss' in r], torch.load(osp.join(work_dir, 'epoch_2.pth'),
                                                            map_location='cpu', weights_only=False)


def _assert_decreases(losses):
    assert len(losses) == 16
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4, losses


def test_simsiam_fashion_mnist_trains_with_fixed_predictor_lr(tmp_path):
    records, ckpt = _train('configs/simsiam/simsiam_resnet18-w32-s2_1xb256-coslr-3e_fashion-mnist.py',
                           str(tmp_path))
    losses = [r['loss'] for r in records]
    _assert_decreases(losses)
    assert all(-1.0 <= v <= 1.0 for v in losses)
    assert all(0.0 < r['z_std'] < 1.0 for r in records)
    groups = ckpt['optimizer']['param_groups']
    fixed = [g['lr'] for g in groups if g.get('fix_lr')]
    others = [g['lr'] for g in groups if not g.get('fix_lr')]
    assert len(fixed) == 5  # predictor: Linear, BN weight+bias, Linear weight+bias
    assert fixed == pytest.approx([0.05] * 5)
    assert max(others) < 0.05 * 0.5  # cosine, 16 of 24 iterations done


def test_barlow_twins_fashion_mnist_trains(tmp_path):
    records, ckpt = _train(
        'configs/barlow_twins/barlowtwins_resnet18-w32-s2-proj2048_1xb256-coslr-3e_fashion-mnist.py', str(tmp_path))
    _assert_decreases([r['loss'] for r in records])
    weights, biases_norms = ckpt['optimizer']['param_groups']
    assert biases_norms['lars_exclude'] and biases_norms['weight_decay'] == 0.0
    assert biases_norms['lr'] == pytest.approx(weights['lr'] * 0.024)
