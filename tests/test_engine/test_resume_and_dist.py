"""Runner-level behaviour: exact resume and 2-process CPU (gloo) training."""
import glob
import os
import os.path as osp

import pytest
import torch

from helpers import (PYTHON, REPO, free_port, load_plain, read_scalars,
                     run_tool, tiny_byol, train)

CONFIG = ('configs/byol/'
          'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')


def tiny(data_root, *extra):
    """A few-second BYOL run on the fake data set (4 iterations / epoch)
    with a 2-iteration warm-up."""
    return tiny_byol(data_root, 'param_scheduler.0.end=0.5',
                     'param_scheduler.1.begin=0.5', *extra)


def test_resume_continues_exactly(fake_fmnist, tmp_path):
    full, part = str(tmp_path / 'full'), str(tmp_path / 'part')
    train(CONFIG, full, *tiny(fake_fmnist, 'train_cfg.max_epochs=2',
                              'default_hooks.checkpoint.max_keep_ckpts=2'))
    assert osp.isfile(osp.join(full, 'epoch_1.pth'))
    # a second run of the same config resumes from the first run's epoch-1
    # checkpoint (same schedule length, so tau and lr schedules agree)
    train(CONFIG, part, *tiny(fake_fmnist, 'train_cfg.max_epochs=2'),
          extra=['--resume', osp.join(full, 'epoch_1.pth')])
    uninterrupted = dict(read_scalars(full))
    resumed = dict(read_scalars(part))
    assert sorted(uninterrupted) == list(range(1, 9))
    assert sorted(resumed) == list(range(5, 9))
    for it in range(5, 9):  # the iterations after the resume
        assert resumed[it] == pytest.approx(uninterrupted[it], rel=1e-5,
                                            abs=1e-6), it
    # and the final weights agree
    a = load_plain(osp.join(full, 'epoch_2.pth'))
    b = load_plain(osp.join(part, 'epoch_2.pth'))
    for key, value in a['state_dict'].items():
        assert torch.allclose(value.float(), b['state_dict'][key].float(),
                              atol=1e-5), key


def test_dist_train_two_cpu_processes_agree(fake_fmnist, tmp_path):
    work = str(tmp_path / 'dist')
    config = tmp_path / 'dist_cfg.py'
    # custom_imports is read when the config file is loaded, so the test-only
    # hook comes in through a small config inheriting the real one.
    config.write_text(
        f"_base_ = ['{osp.join(REPO, CONFIG)}']\n"
        "custom_imports = dict(imports=['dump_rank_state_hook'], "
        "allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='TargetMomentumHook'), "
        "dict(type='DumpRankStateHook')]\n")
    run_tool([
        'bash', 'tools/dist_train.sh', str(config), '2', '--work-dir', work,
        '--cfg-options', *tiny(fake_fmnist, 'train_cfg.max_epochs=1')
    ], env=dict(PYTHONPATH=f'{REPO}:{osp.join(REPO, "tests")}',
                PORT=str(free_port()),
                PATH=f'{osp.dirname(PYTHON)}:{os.environ["PATH"]}'))
    states = [torch.load(p, weights_only=True)
              for p in sorted(glob.glob(osp.join(work, 'rank*_state.pth')))]
    assert len(states) == 2
    assert len(read_scalars(work)) == 2  # 64 images / (2 ranks x 16)
    # the config logged by dist_train.sh names the backend that ran
    logs = glob.glob(osp.join(work, '*', '*.log'))
    text = ''.join(open(p).read() for p in logs)
    assert logs and "backend='gloo'" in text and "backend='nccl'" not in text
    for key, value in states[0].items():
        assert torch.equal(value, states[1][key]), key
    # the run trained: online weights moved away from their initial values
    moved = [k for k in states[0] if k.startswith('backbone.') and
             'num_batches' not in k and
             not torch.equal(states[0][k], states[0]['init.' + k])]
    assert moved


def _dist_train(config: str, work: str, *cfg_options: str, extra=()):
    run_tool([
        'bash', 'tools/dist_train.sh', config, '2', '--work-dir', work,
        *extra, '--cfg-options', *cfg_options
    ], env=dict(PORT=str(free_port()),
                PATH=f'{osp.dirname(PYTHON)}:{os.environ["PATH"]}'))


def test_two_process_resume_continues_exactly(fake_fmnist, tmp_path):
    """Each rank draws its own augmentations (``diff_rank_seed=True``): a
    resumed 2-process run must restore every rank's generators, not rank
    0's on both, to give the uninterrupted run's losses and weights."""
    full, part = str(tmp_path / 'full'), str(tmp_path / 'part')
    opts = tiny(fake_fmnist, 'train_cfg.max_epochs=2')
    _dist_train(CONFIG, full, *opts)
    assert osp.isfile(osp.join(full, 'epoch_1.pth'))
    _dist_train(CONFIG, part, *opts,
                extra=['--resume', osp.join(full, 'epoch_1.pth')])
    uninterrupted = dict(read_scalars(full))
    resumed = dict(read_scalars(part))
    # 64 images / (2 ranks x 16) = 2 iterations per epoch
    assert sorted(uninterrupted) == [1, 2, 3, 4]
    assert sorted(resumed) == [3, 4]
    for it in (3, 4):
        assert resumed[it] == pytest.approx(uninterrupted[it], rel=1e-5,
                                            abs=1e-6), it
    a = load_plain(osp.join(full, 'epoch_2.pth'))['state_dict']
    b = load_plain(osp.join(part, 'epoch_2.pth'))['state_dict']
    for key, value in a.items():
        assert torch.allclose(value.float(), b[key].float(),
                              atol=1e-5), key
