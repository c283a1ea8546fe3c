"""SwAV hooks through a real mmengine Runner: the queue starts at its epoch,
is used once full, and a resumed run continues exactly; the queue shares of
2 gloo processes go into the checkpoint and come back to their ranks."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from helpers import run_distributed
from ssl_plugins.engine.hooks import FreezePrototypesHook, SwAVQueueHook
from swav_helpers import build_tiny_swav as build


class ToyMultiCrop(Dataset):
    """Deterministic 2 global (16 px) + 2 local (8 px) views per item."""

    def __len__(self):
        return 8

    def __getitem__(self, idx):
        g = torch.Generator().manual_seed(idx)
        views = [torch.randn(3, 16, 16, generator=g) for _ in range(2)]
        views += [torch.randn(3, 8, 8, generator=g) for _ in range(2)]
        return dict(inputs=views)


class Record(Hook):
    """Records whether the queue is in use at each training iteration."""

    def __init__(self):
        self.in_use = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.in_use.append((runner.epoch, runner.model.queue is not None,
                            runner.model.queue_in_use))


def make_runner(work_dir, max_epochs, resume_from=None):
    return Runner(
        model=build(feat_dim=8, num_prototypes=20, seed=0),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyMultiCrop(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=4,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.1, momentum=0.9,
                           weight_decay=1e-4)),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[
            SwAVQueueHook(length=8, start_epoch=1),
            FreezePrototypesHook(iters=1),
            Record()
        ],
        randomness=dict(seed=0),
        load_from=resume_from,
        resume=resume_from is not None,
        default_scope='ssl_plugins')


def test_queue_start_use_and_exact_resume(tmp_path):
    straight = make_runner(tmp_path / 'a', max_epochs=3)
    straight.train()
    record = next(h for h in straight.hooks if isinstance(h, Record)).in_use
    # 2 iterations per epoch; queue of 8 = 2 batches of 4
    assert record == [(0, False, False), (0, False, False),
                      (1, True, False), (1, True, True),
                      (2, True, True), (2, True, True)]
    ckpt1 = torch.load(tmp_path / 'a' / 'epoch_1.pth', weights_only=False)
    ckpt2 = torch.load(tmp_path / 'a' / 'epoch_2.pth', weights_only=False)
    assert ckpt1['swav_queue'] is None  # empty before the start epoch
    assert ckpt2['swav_queue'].shape == (1, 2, 8, 8)
    assert ckpt2['swav_queue'].abs().sum() > 0

    resumed = make_runner(tmp_path / 'b', max_epochs=3,
                          resume_from=str(tmp_path / 'a' / 'epoch_2.pth'))
    # the queue is restored with the checkpoint, before training goes on
    resumed.load_or_resume()
    torch.testing.assert_close(resumed.model.queue.cpu(),
                               ckpt2['swav_queue'][0])
    resumed.train()
    torch.testing.assert_close(resumed.model.queue, straight.model.queue,
                               rtol=0, atol=0)
    for (name, p), (_, q) in zip(straight.model.named_parameters(),
                                 resumed.model.named_parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=name)


def test_queue_resplit_for_another_world_size():
    model = build(feat_dim=8)
    runner = SimpleNamespace(model=model)
    saved = torch.arange(2 * 2 * 3 * 8, dtype=torch.float32).reshape(
        2, 2, 3, 8)  # 2 ranks, 2 views, 3 each
    SwAVQueueHook(length=6).after_load_checkpoint(
        runner, dict(swav_queue=saved))
    torch.testing.assert_close(model.queue, torch.cat([saved[0], saved[1]],
                                                      dim=1))


def _worker(rank, world):
    import torch.distributed as dist

    from swav_helpers import multicrop
    hook = SwAVQueueHook(length=8, start_epoch=0)
    model = build(feat_dim=8)
    model.train()
    runner = SimpleNamespace(model=model, epoch=0)
    hook.before_train_epoch(runner)
    assert model.queue.shape == (2, 4, 8)  # per-rank share of 8
    views = multicrop(batch=4, seed=rank)  # different data per rank
    model(views, mode='loss')
    with torch.no_grad():
        z = model.embed(views)
    # own share: own embeddings of the assigned views
    torch.testing.assert_close(model.queue, torch.stack([z[0], z[1]]))
    # only rank 0 saves checkpoints: it must hold every rank's share
    ckpt = {}
    hook.before_save_checkpoint(runner, ckpt)
    saved = ckpt['swav_queue']
    assert saved.shape == (2, 2, 4, 8)
    others = [torch.empty_like(saved) for _ in range(world)]
    dist.all_gather(others, saved)
    torch.testing.assert_close(others[0], others[1])  # same state everywhere
    torch.testing.assert_close(saved[rank], model.queue)
    assert not torch.allclose(saved[0], saved[1])
    # restored on every rank from rank 0's file
    fresh = build(feat_dim=8)
    hook.after_load_checkpoint(SimpleNamespace(model=fresh),
                               dict(swav_queue=others[0]))
    torch.testing.assert_close(fresh.queue, model.queue)


def test_queue_shares_of_two_processes_saved_and_restored():
    run_distributed(_worker, 2)


def test_hooks_reject_models_without_the_api():
    runner = SimpleNamespace(model=nn.Linear(2, 2))
    with pytest.raises(TypeError, match='SwAVQueueHook.*Linear'):
        SwAVQueueHook().before_train(runner)
    with pytest.raises(TypeError, match='FreezePrototypesHook.*Linear'):
        FreezePrototypesHook().before_train(runner)
