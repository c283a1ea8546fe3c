"""SwAV hooks through a real mmengine Runner: the queue starts at its epoch,
is used once full, and a resumed run continues exactly; the queue shares of
2 gloo processes go into the checkpoint (the model's state dict) and come
back to their ranks; a checkpoint of the former layout (queue in
``checkpoint['swav_queue']``) still restores it."""
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

QUEUE_KEY = 'head.queue._extra_state'  # the queue's state-dict entry


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
    assert 'swav_queue' not in ckpt2  # in the state dict instead
    # empty before the start epoch
    assert ckpt1['state_dict'][QUEUE_KEY].numel() == 0
    queue2 = ckpt2['state_dict'][QUEUE_KEY]
    assert queue2.shape == (1, 2, 8, 8)
    assert queue2.abs().sum() > 0

    resumed = make_runner(tmp_path / 'b', max_epochs=3,
                          resume_from=str(tmp_path / 'a' / 'epoch_2.pth'))
    # the queue is restored with the checkpoint, before training goes on
    resumed.load_or_resume()
    torch.testing.assert_close(resumed.model.queue.cpu(), queue2[0])
    resumed.train()
    torch.testing.assert_close(resumed.model.queue, straight.model.queue,
                               rtol=0, atol=0)
    for (name, p), (_, q) in zip(straight.model.named_parameters(),
                                 resumed.model.named_parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=name)


def test_queue_resplit_for_another_world_size():
    model = build(feat_dim=8)
    saved = torch.arange(2 * 2 * 3 * 8, dtype=torch.float32).reshape(
        2, 2, 3, 8)  # 2 ranks, 2 views, 3 each
    model.load_state_dict({**model.state_dict(), QUEUE_KEY: saved})
    torch.testing.assert_close(model.queue, torch.cat([saved[0], saved[1]],
                                                      dim=1))


#: The state-dict keys of the tiny SwAV model before the queue had an entry
#: (the queue was then ``checkpoint['swav_queue']``).
FORMER_KEYS = [
    'backbone.conv.weight', 'backbone.conv.bias', 'neck.mlp.0.weight',
    'neck.mlp.0.bias', 'neck.mlp.1.weight', 'neck.mlp.1.bias',
    'neck.mlp.1.running_mean', 'neck.mlp.1.running_var',
    'neck.mlp.1.num_batches_tracked', 'neck.mlp.3.weight', 'neck.mlp.3.bias',
    'head.prototypes.weight'
]


def former_checkpoint(queue):
    """A checkpoint as the former code wrote it: weights of a trained-looking
    model under :data:`FORMER_KEYS`, the queue beside the state dict."""
    source = build(feat_dim=8, seed=1)
    weights = source.state_dict()
    assert list(weights) == FORMER_KEYS + [QUEUE_KEY]
    return source, dict(state_dict={k: weights[k] for k in FORMER_KEYS},
                        swav_queue=queue, meta=dict(epoch=2))


def test_checkpoint_of_the_former_layout_loads():
    from mmengine.runner.checkpoint import load_state_dict
    saved = torch.arange(2 * 2 * 3 * 8, dtype=torch.float32).reshape(
        2, 2, 3, 8)  # saved by 2 ranks, 2 views, 3 each
    source, ckpt = former_checkpoint(saved)
    # a plain strict load of the former state dict works (no queue entry:
    # nothing to restore, not a missing key)
    plain = build(feat_dim=8)
    plain.load_state_dict(ckpt['state_dict'])
    assert plain.queue is None
    # through the Runner's order: hook, then the model loads the state dict
    model = build(feat_dim=8)
    hook = SwAVQueueHook(length=6)
    hook.after_load_checkpoint(SimpleNamespace(model=model), ckpt)
    assert 'swav_queue' not in ckpt
    load_state_dict(model, ckpt['state_dict'], strict=True)
    torch.testing.assert_close(model.queue, torch.cat([saved[0], saved[1]],
                                                      dim=1))
    for k, v in source.state_dict().items():
        if k != QUEUE_KEY:
            torch.testing.assert_close(model.state_dict()[k], v, msg=k)
    # a former checkpoint written before the queue started
    fresh = build(feat_dim=8)
    _, empty = former_checkpoint(None)
    hook.after_load_checkpoint(SimpleNamespace(model=fresh), empty)
    load_state_dict(fresh, empty['state_dict'], strict=True)
    assert fresh.queue is None


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
    saved = model.state_dict()[QUEUE_KEY]
    assert saved.shape == (2, 2, 4, 8)
    others = [torch.empty_like(saved) for _ in range(world)]
    dist.all_gather(others, saved)
    torch.testing.assert_close(others[0], others[1])  # same state everywhere
    torch.testing.assert_close(saved[rank], model.queue)
    assert not torch.allclose(saved[0], saved[1])
    # restored on every rank from rank 0's file
    fresh = build(feat_dim=8)
    fresh.load_state_dict({**fresh.state_dict(), QUEUE_KEY: others[0]})
    torch.testing.assert_close(fresh.queue, model.queue)
    # and from a checkpoint of the former layout
    former = build(feat_dim=8)
    ckpt = dict(state_dict={k: v for k, v in former.state_dict().items()
                            if k != QUEUE_KEY}, swav_queue=others[0])
    hook.after_load_checkpoint(SimpleNamespace(model=former), ckpt)
    former.load_state_dict(ckpt['state_dict'])
    torch.testing.assert_close(former.queue, model.queue)


def test_queue_shares_of_two_processes_saved_and_restored():
    run_distributed(_worker, 2)


def test_hooks_reject_models_without_the_api():
    runner = SimpleNamespace(model=nn.Linear(2, 2))
    with pytest.raises(TypeError, match='SwAVQueueHook.*Linear'):
        SwAVQueueHook().before_train(runner)
    with pytest.raises(TypeError, match='FreezePrototypesHook.*Linear'):
        FreezePrototypesHook().before_train(runner)
