"""DINO Fashion-MNIST config through tools/train.py: tiny run, exact resume,
2-process (gloo) run."""
import math
import os.path as osp
import shutil

import pytest
import torch

from helpers import (PYTHON, free_port, load_plain, read_scalars, run_tool,
                     train)

CONFIG = (
    'configs/dino/'  # relative: the tools run in the repo root
    'dino_resnet10-w16-s2-bnhead-h512-k1024_1xb256-coslr-4e_fashion-mnist.py')
K = 1024  # the config's head outputs


def _options(root, *extra):
    # 64 images, batch 8: 8 iterations per epoch; one non-persistent worker
    # so that every epoch's augmentations are seeded alike (mmengine does not
    # checkpoint RNG states: an exact resume needs them reproducible).
    return (f'train_dataloader.dataset.data_root={root}',
            'train_dataloader.batch_size=8', 'train_dataloader.num_workers=1',
            'train_dataloader.persistent_workers=False',
            'default_hooks.logger.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=3',
            'train_cfg.max_epochs=2', *extra)


def _load(path):
    return load_plain(path)  # plain types only (PlainCheckpointHook)


@pytest.fixture(scope='module')
def full_run(fake_fmnist, tmp_path_factory):
    """One uninterrupted single-process run (2 epochs x 8 iterations)."""
    full = str(tmp_path_factory.mktemp('dino') / 'full')
    train(CONFIG, full, *_options(fake_fmnist))
    return full


def test_tiny_run_and_exact_resume(full_run, fake_fmnist, tmp_path):
    full, resumed = full_run, str(tmp_path / 'resumed')
    losses = [v for _, v in read_scalars(full, 'loss')]
    assert len(losses) == 16 and all(math.isfinite(v) for v in losses)
    # Starts near ln(K) (uniform-ish teacher and student at init) ...
    assert abs(losses[0] - math.log(K)) < 0.5, losses[0]
    # ... and the student learns to match the teacher: the loss goes down
    # over the first iterations, before the centre (starting at 0, m=0.9)
    # has absorbed the teacher's common mode, which raises H(teacher).
    assert min(losses[1:6]) < losses[0], losses[:6]

    # resume from the epoch-1 checkpoint in a fresh work dir
    shutil.copytree(full,
                    resumed,
                    ignore=shutil.ignore_patterns('epoch_2.pth', '2026*',
                                                  'last_checkpoint'))
    train(CONFIG,
          resumed,
          *_options(fake_fmnist),
          extra=['--resume', osp.join(resumed, 'epoch_1.pth')])
    a, b = _load(osp.join(full, 'epoch_2.pth')), _load(
        osp.join(resumed, 'epoch_2.pth'))
    sa, sb = a['state_dict'], b['state_dict']
    assert sa.keys() == sb.keys()
    assert 'head.loss_module.center' in sa
    for key in sa:  # student, teacher, centre: bit-identical
        assert torch.equal(sa[key], sb[key]), key
    ea = a['optimizer']['state']
    eb = b['optimizer']['state']
    for idx in ea:
        for name, value in ea[idx].items():
            assert torch.equal(torch.as_tensor(value),
                               torch.as_tensor(eb[idx][name])), (idx, name)
    ga, gb = a['optimizer']['param_groups'], b['optimizer']['param_groups']
    assert [(g['lr'], g['weight_decay'])
            for g in ga] == [(g['lr'], g['weight_decay']) for g in gb]
    # logged schedules of the resumed epoch equal the uninterrupted ones
    for key in ('loss', 'teacher_temp', 'momentum', 'lr', 'teacher_entropy',
                'kl_teacher_student', 'center_norm'):
        tail = dict(read_scalars(full, key))
        assert len(tail) == 16, key  # logged every iteration
        for it, value in read_scalars(resumed, key):
            if it > 8:
                assert math.isclose(value, tail[it], rel_tol=1e-6), (key, it)


def test_two_process_gloo_run(full_run, fake_fmnist, tmp_path):
    """The recipe under DDP (gloo, 2 x batch 4): hooks reach the wrapped
    model, the last layer stays at its initial value (that of the
    single-process run: same seed, DDP broadcasts rank 0) through epoch 0."""
    work = str(tmp_path / 'ddp')
    run_tool([
        PYTHON, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={free_port()}', 'tools/train.py', CONFIG, '--work-dir',
        work, '--launcher', 'pytorch', '--cfg-options',
        *_options(fake_fmnist, 'train_dataloader.batch_size=4',
                  'train_cfg.max_epochs=2', 'train_dataloader.num_workers=0')
    ])
    ckpt = _load(osp.join(work, 'epoch_2.pth'))
    assert torch.isfinite(ckpt['state_dict']['head.loss_module.center']).all()
    ddp1 = _load(osp.join(work, 'epoch_1.pth'))['state_dict']
    one1 = _load(osp.join(full_run, 'epoch_1.pth'))['state_dict']
    last = [k for k in ddp1 if k.startswith('neck.last_layer.')]
    assert len(last) == 2
    for key in last:
        assert torch.equal(ddp1[key], one1[key]), key
    # weight_v (original1) trained in epoch 1; g fixed (norm_last_layer)
    assert not torch.equal(ckpt['state_dict'][last[1]], ddp1[last[1]])
    temps = [v for _, v in read_scalars(work, 'teacher_temp')]
    assert temps[0] == 0.04 and math.isclose(temps[-1], 0.04 + 0.03 / 29)
