"""ThroughputHook: global images per second in the training log."""
import pytest
import torch

from helpers import read_scalars, tiny_byol, train

CONFIG = ('configs/byol/'
          'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')


def tiny(data_root, *extra):
    """A few-second BYOL run on the fake data set (4 iterations / epoch)."""
    return tiny_byol(data_root, *extra)


def test_batch_size_counts_samples_not_views():
    from ssl_plugins.engine.hooks.throughput_hook import batch_size_of
    views = [torch.zeros(5, 3, 8, 8), torch.zeros(5, 3, 8, 8)]
    assert batch_size_of(dict(inputs=views)) == 5
    assert batch_size_of(dict(inputs=torch.zeros(7, 3))) == 7
    assert batch_size_of(dict(inputs=views, data_samples=[0, 1, 2])) == 3
    assert batch_size_of(None) is None


def test_default_runtime_lists_the_hook():
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    assert cfg.default_hooks.throughput == dict(type='ThroughputHook')


def test_img_per_s_is_batch_over_iteration_time(fake_fmnist, tmp_path):
    # 16 images per iteration, 1 process; window 1: 'time' is the
    # iteration's own time in scalars.json, as img_per_s is
    work = str(tmp_path / 'run')
    proc = train(CONFIG, work, *tiny(fake_fmnist, 'train_cfg.max_epochs=1'))
    times = dict(read_scalars(work, 'time'))
    rates = dict(read_scalars(work, 'img_per_s'))
    assert sorted(rates) == [1, 2, 3, 4]
    for it, rate in rates.items():
        assert rate == pytest.approx(16 / times[it], rel=1e-6), it
    assert 'img_per_s:' in proc.stdout + proc.stderr  # the printed log


def test_own_clock_without_iter_timer_hook():
    import time
    from types import SimpleNamespace

    from mmengine.logging import MessageHub

    from ssl_plugins.engine.hooks import ThroughputHook
    hook = ThroughputHook()
    hub = MessageHub.get_instance('throughput_hook_test')
    runner = SimpleNamespace(hooks=[hook], message_hub=hub,
                             train_dataloader=SimpleNamespace(batch_size=4))
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    start = time.perf_counter()
    time.sleep(0.05)
    hook.after_train_iter(runner, 0, dict(inputs=[torch.zeros(8, 1)] * 2))
    elapsed = time.perf_counter() - start
    rate = hub.get_scalar('train/img_per_s').current()
    assert 8 / (elapsed + 0.01) < rate <= 8 / 0.05
