"""Fractional-epoch warm-ups on epochs of fewer than 4 iterations."""
import pytest
import torch
from mmengine.optim import OptimWrapper

from helpers import read_scalars, train

CONFIG = ('configs/byol/'
          'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')
WARMUP = dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
              end=0.3, convert_to_iter_based=True)
COSINE = dict(type='CosineAnnealingLR', by_epoch=True, begin=0.3, end=4,
              T_max=3.7, convert_to_iter_based=True)


def _build(cfg: dict, epoch_length: int, wrapper=None):
    from ssl_plugins.registry import PARAM_SCHEDULERS
    if wrapper is None:
        wrapper = OptimWrapper(
            torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0))
    return PARAM_SCHEDULERS.build(
        dict(cfg), default_args=dict(optimizer=wrapper,
                                     epoch_length=epoch_length))


@pytest.mark.parametrize('epoch_length', [1, 2, 3, 4, 6])
def test_fractional_warmup_reaches_the_base_lr(epoch_length):
    # mmengine: int(0.3 * L) == 0 for L <= 3 ('end should be larger than
    # begin'), == 1 for L = 4..6: a one-iteration LinearLR whose 1e-3 factor
    # is never removed
    wrapper = OptimWrapper(
        torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0))
    warmup = _build(WARMUP, epoch_length, wrapper)
    cosine = _build(COSINE, epoch_length, wrapper)
    assert (warmup.begin, warmup.end) == (0, 2)
    assert cosine.begin == warmup.end  # the cosine starts where it ends
    assert cosine.end == 4 * epoch_length
    lrs = []
    for _ in range(4):
        lrs.append(wrapper.param_groups[0]['lr'])
        warmup.step()
        cosine.step()
    # one iteration at the start factor, then the base lr where the cosine
    # starts, which decays from there (not from 1e-3)
    assert lrs[:2] == pytest.approx([1e-3, 1.0])
    assert 0.5 < lrs[3] <= 1.0


def test_long_epochs_convert_as_mmengine():
    warmup, cosine = _build(WARMUP, 1001), _build(COSINE, 1001)
    assert (warmup.end, cosine.begin, cosine.end) == (300, 300, 4004)


@pytest.mark.parametrize('begin,end,epoch_length,what', [
    (1.2, 1.4, 2, 'no iteration'),  # iterations 2 and 2
    (1, 1.3, 4, 'one iteration'),  # 4 and 5: the factor would stay
])
def test_scheduler_too_short_names_itself(begin, end, epoch_length, what):
    with pytest.raises(ValueError) as err:
        _build(dict(WARMUP, begin=begin, end=end), epoch_length)
    message = str(err.value)
    for part in ('LinearLR', f'begin={begin}', f'end={end}',
                 f'{epoch_length} iteration(s) per epoch', what):
        assert part in message


def test_byol_trains_with_two_iterations_per_epoch(fake_fmnist, tmp_path):
    # batch 32 on 64 images: 2 iterations per epoch, the shipped 0.3-epoch
    # warm-up (no param_scheduler overrides)
    work = str(tmp_path / 'run')
    proc = train(CONFIG, work,
                 f'train_dataloader.dataset.data_root={fake_fmnist}',
                 'train_dataloader.batch_size=32',
                 'train_dataloader.num_workers=0',
                 'train_dataloader.persistent_workers=False',
                 'model.backbone.base_channels=8',
                 'model.backbone.stem_channels=8',
                 'model.neck.in_channels=64', 'model.neck.hid_channels=64',
                 'model.head.predictor.hid_channels=64',
                 'log_processor.window_size=1',
                 'default_hooks.logger.interval=1', 'randomness.seed=0',
                 'train_cfg.max_epochs=1')
    lrs = dict(read_scalars(work, 'lr'))
    assert sorted(lrs) == [1, 2]
    # iteration 1: the warm-up's start (1e-3 x 1.0); iteration 2: the base
    # lr, where the cosine starts
    assert lrs[1] == pytest.approx(1e-3)
    assert lrs[2] == pytest.approx(1.0)
    assert 'end=0.3 epoch -> iteration 2 (not 0)' in proc.stdout + proc.stderr
