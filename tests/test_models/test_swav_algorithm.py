"""SwAV algorithm: grouped multi-crop forward, prototypes, queue, freezing
under DDP (2 gloo processes)."""
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor, MMDistributedDataParallel
from mmengine.optim import OptimWrapper

from helpers import run_distributed
from ssl_plugins.engine.hooks import FreezePrototypesHook
from ssl_plugins.functional.swav import swav_loss
from ssl_plugins.models.algorithms import SwAV
from swav_helpers import build_tiny_swav as build
from swav_helpers import multicrop


def test_one_backbone_call_per_resolution():
    model = build()
    views = multicrop(batch=4, num_global=2, num_local=4)
    model.train()
    loss = model(views, mode='loss')['loss']
    assert model.backbone.calls == [(8, 3, 16, 16), (16, 3, 8, 8)]
    # same math as one call per view (no BN in this backbone): grouping
    # changes only the number of calls
    # (the projector's BN sees all views together, as in the official code)
    with torch.no_grad():
        feats = torch.cat([model.backbone(v)[0] for v in views])
        z = F.normalize(model.neck(feats), dim=1).split(4)
        scores = [zi @ model.head.prototypes.weight.t() for zi in z]
    assert len(model.backbone.calls) == 2 + len(views)
    torch.testing.assert_close(loss.detach(), swav_loss(scores))
    # views are grouped by consecutive equal sizes
    model.backbone.calls.clear()
    model([views[0], views[2], views[1]], mode='loss')
    assert model.backbone.calls == [(4, 3, 16, 16), (4, 3, 8, 8),
                                    (4, 3, 16, 16)]


def test_prototypes_normalised_before_every_step():
    model = build()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    model.train()
    for _ in range(2):
        loss = model(multicrop(), mode='loss')['loss']
        norms = model.head.prototypes.weight.norm(dim=1)
        torch.testing.assert_close(norms, torch.ones_like(norms))
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert not torch.allclose(
            model.head.prototypes.weight.norm(dim=1), torch.ones_like(norms))


def test_bf16_autocast_scores_and_codes_in_fp32():
    model = build()
    model.train()
    views = multicrop()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        z = model.embed(views)
        assert z[0].dtype == torch.bfloat16
        assert model.head.scores(z[0]).dtype == torch.float32
        loss = model(views, mode='loss')['loss']
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(model.head.prototypes.weight.grad).all()


def test_bad_views():
    model = build(crops_for_assign=(0, 5))
    model.train()
    with pytest.raises(ValueError, match='crops_for_assign'):
        model(multicrop(), mode='loss')
    with pytest.raises(ValueError, match='at least 2 views'):
        build()(multicrop()[:1], mode='loss')


def test_queue_fifo_and_used_only_for_codes_once_full():
    model = build(feat_dim=8, num_prototypes=20)
    model.train()
    assert model.queue is None
    batches = [multicrop(batch=4, seed=s) for s in range(4)]
    model(batches[0], mode='loss')
    assert model.queue is None  # no queue until started
    model.start_queue(8)  # two batches
    pushed = []
    for step, views in enumerate(batches[1:]):
        before = None if not model.queue_in_use else model.queue.clone()
        loss = model(views, mode='loss')['loss']
        with torch.no_grad():
            z = model.embed(views)
        pushed.append(torch.stack([z[0], z[1]]))
        scores = [zi @ model.head.prototypes.weight.t() for zi in z]
        if before is None:
            # not full yet: the queue is not used
            assert step < 2
            torch.testing.assert_close(loss.detach(), swav_loss(scores))
        else:
            # full: queued scores join the codes only (its rows are ignored
            # in the prediction), and they change the loss
            assert step == 2
            qs = [q @ model.head.prototypes.weight.t() for q in before]
            torch.testing.assert_close(loss.detach(),
                                       swav_loss(scores, queue_scores=qs))
            assert not torch.allclose(loss.detach(), swav_loss(scores))
        # FIFO: newest embeddings first
        torch.testing.assert_close(model.queue[:, :4], pushed[-1])
        if len(pushed) > 1:
            torch.testing.assert_close(model.queue[:, 4:8], pushed[-2])
    assert model.queue_in_use
    # evaluation mode neither uses nor changes the queue
    model.eval()
    snapshot = model.queue.clone()
    model(batches[0], mode='loss')
    torch.testing.assert_close(model.queue, snapshot)


def test_queue_shorter_than_batch_is_an_error():
    model = build()
    model.train()
    model.start_queue(2)
    with pytest.raises(ValueError, match='queue'):
        model(multicrop(batch=4), mode='loss')


def test_load_queue_checks_shape():
    model = build(feat_dim=8)
    queue = model.head.queue  # its state is the state dict's entry
    with pytest.raises(ValueError, match='SwAVQueue'):
        queue.set_extra_state(torch.zeros(1, 2, 5, 7))  # dim 7, not 8
    with pytest.raises(ValueError, match='SwAVQueue'):
        queue.set_extra_state(torch.zeros(2, 5, 8))  # no process axis
    with pytest.raises(ValueError, match='SwAVQueue'):
        model.load_state_dict({**model.state_dict(),
                               'head.queue._extra_state': torch.zeros(
                                   1, 3, 5, 8)})  # 3 views, not 2
    model.load_state_dict({**model.state_dict(),
                           'head.queue._extra_state': torch.ones(1, 2, 5, 8)})
    assert model.queue.shape == (2, 5, 8) and model.queue_in_use
    # an empty state (or None) clears the queue
    queue.set_extra_state(torch.empty(0))
    assert model.queue is None and not model.queue_in_use


def _ddp_freeze_worker(rank, world, frozen_iters, total_iters):
    model = build(feat_dim=8, num_prototypes=20, seed=0)
    ddp = MMDistributedDataParallel(
        module=model, find_unused_parameters=False)
    optim = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9,
                        weight_decay=1e-4))
    runner = SimpleNamespace(model=ddp, optim_wrapper=optim, iter=0)
    hook = FreezePrototypesHook(iters=frozen_iters)
    hook.before_train(runner)
    protos, convs = [], []
    for it in range(total_iters):
        runner.iter = it
        hook.before_train_iter(runner, it)
        views = multicrop(batch=4, seed=100 * it + rank)
        ddp.train_step(dict(inputs=views, data_samples=None), optim)
        protos.append(model.head.prototypes.weight.detach().clone())
        convs.append(model.backbone.conv.weight.detach().clone())
    hook.after_train(runner)
    # frozen iterations: prototypes keep their (normalised) values,
    # while the rest of the network trains
    for it in range(1, frozen_iters):
        torch.testing.assert_close(protos[it], protos[0], rtol=0,
                                   atol=1e-6)
    torch.testing.assert_close(protos[0].norm(dim=1), torch.ones(20))
    assert not torch.allclose(convs[0], convs[1])
    # afterwards they are updated
    for it in range(frozen_iters, total_iters):
        assert (protos[it] - protos[it - 1]).abs().max() > 1e-4
    # ranks stay in sync
    mine = torch.cat([protos[-1].flatten(), convs[-1].flatten()])
    gathered = [torch.empty_like(mine) for _ in range(world)]
    dist.all_gather(gathered, mine)
    torch.testing.assert_close(gathered[0], gathered[1])


def test_freeze_prototypes_under_ddp_without_unused_parameters():
    run_distributed(_ddp_freeze_worker, 2, args=(3, 5))


def _bn_free_swav():
    from swav_helpers import TinyBackbone
    torch.manual_seed(0)
    return SwAV(backbone=TinyBackbone(),
                neck=dict(type='MLPNeck', in_channels=16, hid_channels=16,
                          out_channels=8, num_layers=1),
                head=dict(type='SwAVHead', feat_dim=8, num_prototypes=20,
                          loss=dict(type='SwAVLoss')),
                data_preprocessor=BaseDataPreprocessor()).double()


def _swav_grads(model, views):
    model.zero_grad()
    loss = model(views, mode='loss')['loss']
    loss.backward()
    module = getattr(model, 'module', model)
    return loss.detach(), {n: p.grad.clone()
                           for n, p in module.named_parameters()
                           if p.grad is not None}


def _split_worker(rank, world, reference, split):
    from torch.nn.parallel import DistributedDataParallel
    ddp = DistributedDataParallel(_bn_free_swav())
    bounds = [0, split[0], sum(split)]
    views = [v[bounds[rank]:bounds[rank + 1]].double()
             for v in multicrop(batch=8, seed=3)]
    loss, grads = _swav_grads(ddp, views)
    loss = loss.clone()
    dist.all_reduce(loss)
    ref_loss, ref_grads = reference
    # float32 tolerances: Sinkhorn-Knopp runs in fp32 whatever the input
    torch.testing.assert_close(loss / world, ref_loss, rtol=1e-5, atol=1e-6)
    assert grads.keys() == ref_grads.keys() and len(grads) > 3
    for name, g in ref_grads.items():
        torch.testing.assert_close(grads[name], g, rtol=1e-5, atol=1e-6,
                                   msg=lambda m, n=name: f'{n}: {m}')
    return True


@pytest.mark.parametrize('split', [(4, 4), (3, 5)])
def test_two_processes_with_unequal_batches_match_one_process(split):
    """Codes over the global batch (Sinkhorn-Knopp) and the loss weighted by
    each rank's share: 3 + 5 samples on two ranks = 8 on one."""
    reference = _swav_grads(_bn_free_swav(),
                            [v.double() for v in multicrop(batch=8, seed=3)])
    assert run_distributed(_split_worker, 2, (reference, split)) == [True,
                                                                     True]
