"""SwAV swapped-prediction loss: parity with the official loop, queue,
gradients, 2-process equivalence."""
import math

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F

from helpers import run_distributed
from ssl_plugins.functional.swav import swav_loss


def reference_sinkhorn(out, epsilon=0.05, iters=3):
    """Paper Alg. 1 / official ``distributed_sinkhorn`` on one process."""
    q = torch.exp(out.double() / epsilon).t()
    k, b = q.shape
    q /= q.sum()
    for _ in range(iters):
        q /= q.sum(dim=1, keepdim=True)
        q /= k
        q /= q.sum(dim=0, keepdim=True)
        q /= b
    return (q * b).t()


def reference_loss(output, bs, nmb_crops, crops_for_assign, queue_out=None,
                   temperature=0.1):
    """The official ``main_swav.py`` training loss, on concatenated views."""
    loss = 0
    for i, crop_id in enumerate(crops_for_assign):
        with torch.no_grad():
            out = output[bs * crop_id:bs * (crop_id + 1)].detach()
            if queue_out is not None:
                out = torch.cat((queue_out[i], out))
            q = reference_sinkhorn(out)[-bs:].float()
        subloss = 0
        for v in np.delete(np.arange(np.sum(nmb_crops)), crop_id):
            x = output[bs * v:bs * (v + 1)] / temperature
            subloss -= torch.mean(torch.sum(q * F.log_softmax(x, dim=1),
                                            dim=1))
        loss += subloss / (np.sum(nmb_crops) - 1)
    return loss / len(crops_for_assign)


def make_views(num_views, b, k, d=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    protos = F.normalize(torch.randn(k, d, generator=g), dim=1)
    z = F.normalize(torch.randn(num_views, b, d, generator=g), dim=2)
    # views of one image are correlated: a shared component plus noise
    z = F.normalize(z + 2 * z[:1], dim=2)
    return z @ protos.t(), protos


@pytest.mark.parametrize('num_views,crops', [(2, (0, 1)), (8, (0, 1)),
                                             (5, (1, ))])
def test_matches_official_loop(num_views, crops):
    b, k = 12, 20
    scores, _ = make_views(num_views, b, k)
    scores.requires_grad_(True)
    loss = swav_loss(list(scores), crops_for_assign=crops)
    loss.backward()
    grad = scores.grad.clone()
    scores.grad = None
    flat = scores.reshape(num_views * b, k)
    ref = reference_loss(flat, b, [num_views], crops)
    ref.backward()
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(grad, scores.grad)
    # a (V, B, K) tensor is accepted as well
    torch.testing.assert_close(swav_loss(scores, crops_for_assign=crops), ref)


def test_queue_only_in_codes():
    b, k, qlen = 8, 20, 24
    scores, _ = make_views(4, b, k, seed=1)
    queued, _ = make_views(2, qlen, k, seed=2)
    scores.requires_grad_(True)
    queued.requires_grad_(True)
    loss = swav_loss(list(scores), queue_scores=list(queued))
    loss.backward()
    ref = reference_loss(scores.detach().reshape(4 * b, k), b, [4], (0, 1),
                         queue_out=list(queued.detach()))
    torch.testing.assert_close(loss, ref)
    assert queued.grad is None or not queued.grad.any()
    # the queue changes the codes, hence the loss
    assert not torch.allclose(loss, swav_loss(list(scores.detach())))
    # None entries: no queue for that view
    torch.testing.assert_close(
        swav_loss(list(scores.detach()), queue_scores=[None, None]),
        swav_loss(list(scores.detach())))


def test_codes_carry_no_gradient():
    scores, _ = make_views(2, 6, 10, seed=3)
    scores.requires_grad_(True)
    swav_loss(list(scores), crops_for_assign=(0, )).backward()
    # view 0 only provides codes: no gradient; view 1 predicts them
    assert not scores.grad[0].any()
    assert scores.grad[1].abs().sum() > 0


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_low_precision(dtype):
    scores, _ = make_views(4, 16, 30, seed=4)
    loss = swav_loss(list(scores.to(dtype)))
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    torch.testing.assert_close(loss, swav_loss(list(scores)), rtol=2e-2,
                               atol=0)


def test_uniform_scores_give_log_k():
    # equal scores: uniform codes and predictions, loss = ln K (collapse level)
    k = 50
    loss = swav_loss([torch.zeros(4, k)] * 3)
    torch.testing.assert_close(loss, torch.tensor(math.log(k)))


def test_bad_input():
    s = torch.randn(4, 10)
    with pytest.raises(ValueError, match='at least 2 views'):
        swav_loss([s])
    with pytest.raises(ValueError, match='view 1 has'):
        swav_loss([s, torch.randn(4, 11)])
    with pytest.raises(ValueError, match='crops_for_assign entry 2'):
        swav_loss([s, s], crops_for_assign=(0, 2))
    with pytest.raises(ValueError, match='queue_scores has 1'):
        swav_loss([s, s], queue_scores=[s])
    with pytest.raises(ValueError, match=r'queue_scores\[0\]'):
        swav_loss([s, s], queue_scores=[torch.randn(3, 9), None])


def _worker(rank, world):
    b, k, qlen = 16, 24, 12
    scores, _ = make_views(6, b, k, seed=5)
    queued, _ = make_views(2, qlen, k, seed=6)
    for queue in (None, queued):
        full = scores.clone().requires_grad_(True)
        q_full = None if queue is None else list(queue)
        ref = swav_loss(list(full), queue_scores=q_full,
                        distributed=False)
        ref.backward()
        half = b // world
        sl = slice(rank * half, (rank + 1) * half)
        local = scores[:, sl].clone().requires_grad_(True)
        # each rank holds its share of the queue too
        qsl = slice(rank * qlen // world, (rank + 1) * qlen // world)
        q_local = None if queue is None else list(queue[:, qsl])
        loss = swav_loss(list(local), queue_scores=q_local)
        loss.backward()
        # mean of the per-rank losses (what DDP optimises) = 1-process loss
        mean = loss.detach().clone()
        dist.all_reduce(mean)
        torch.testing.assert_close(mean / world, ref.detach())
        # gradients averaged over ranks as DDP does = 1-process gradients
        torch.testing.assert_close(local.grad / world, full.grad[:, sl])


def test_two_processes_equal_one():
    run_distributed(_worker, 2)
