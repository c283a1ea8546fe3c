"""Barlow Twins loss: the paper's formula, and 2 gloo processes == 1 process
(loss and gradients)."""
import pytest
import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from helpers import run_distributed
from ssl_plugins.functional.barlow_twins import (BARLOW_TWINS_LAMBDA,
                                                 barlow_twins_loss,
                                                 cross_correlation,
                                                 global_batch_norm)


def reference_loss(z1: torch.Tensor,
                   z2: torch.Tensor,
                   lambd: float = 0.0051) -> torch.Tensor:
    """Paper eq. 1 with explicit loops over (i, j); BN = standardise with the
    biased std."""
    n, d = z1.shape
    a = (z1 - z1.mean(0)) / torch.sqrt(z1.var(0, unbiased=False) + 1e-5)
    b = (z2 - z2.mean(0)) / torch.sqrt(z2.var(0, unbiased=False) + 1e-5)
    loss = z1.new_zeros(())
    for i in range(d):
        for j in range(d):
            c_ij = sum(a[k, i] * b[k, j] for k in range(n)) / n
            loss = loss + ((1 - c_ij)**2 if i == j else lambd * c_ij**2)
    return loss


def test_loss_matches_paper_formula():
    torch.manual_seed(0)
    z1, z2 = torch.randn(6, 5,
                         dtype=torch.float64), torch.randn(6,
                                                           5,
                                                           dtype=torch.float64)
    torch.testing.assert_close(barlow_twins_loss(z1, z2),
                               reference_loss(z1, z2))
    torch.testing.assert_close(barlow_twins_loss(z1, z2, lambd=0.3),
                               reference_loss(z1, z2, 0.3))
    assert BARLOW_TWINS_LAMBDA == 0.0051


def test_batch_norm_matches_affine_free_batchnorm1d():
    torch.manual_seed(0)
    x = torch.randn(16, 4) * 3 + 1
    torch.testing.assert_close(global_batch_norm(x),
                               nn.BatchNorm1d(4, affine=False)(x))


def test_identical_standardised_views_reach_only_the_redundancy_term():
    torch.manual_seed(0)
    z = torch.randn(64, 8, dtype=torch.float64)
    c = cross_correlation(global_batch_norm(z, eps=0.0),
                          global_batch_norm(z, eps=0.0))
    torch.testing.assert_close(torch.diagonal(c),
                               torch.ones(8, dtype=torch.float64))
    off = (c.pow(2).sum() - 8)
    torch.testing.assert_close(barlow_twins_loss(z, z, eps=0.0),
                               BARLOW_TWINS_LAMBDA * off)


def test_half_precision_inputs_computed_in_float32():
    torch.manual_seed(0)
    z1, z2 = torch.randn(32, 6), torch.randn(32, 6)
    loss = barlow_twins_loss(z1.bfloat16(), z2.bfloat16())
    assert loss.dtype == torch.float32
    torch.testing.assert_close(
        loss, barlow_twins_loss(z1.bfloat16().float(),
                                z2.bfloat16().float()))


def test_bad_shapes_raise_clear_errors():
    with pytest.raises(ValueError, match='equal shape'):
        barlow_twins_loss(torch.randn(4, 3), torch.randn(4, 5))
    with pytest.raises(ValueError, match='at least 2 samples'):
        barlow_twins_loss(torch.randn(1, 3), torch.randn(1, 3))


def _setup(dim_in: int = 6, dim_out: int = 5):
    torch.manual_seed(0)
    x1 = torch.randn(8, dim_in, dtype=torch.float64)
    x2 = x1 + 0.5 * torch.randn(8, dim_in, dtype=torch.float64)
    layer = nn.Linear(dim_in, dim_out).double()
    return x1, x2, layer


def _single_process(x1, x2, layer):
    x1, x2 = x1.clone().requires_grad_(), x2.clone().requires_grad_()
    layer.zero_grad()
    loss = barlow_twins_loss(layer(x1), layer(x2))
    loss.backward()
    return loss.detach(), layer.weight.grad.clone(), layer.bias.grad.clone(
    ), x1.grad, x2.grad


def _worker(rank: int, world_size: int, reference: tuple) -> bool:
    x1, x2, layer = _setup()
    ref_loss, ref_w, ref_b, ref_x1, ref_x2 = reference
    model = DistributedDataParallel(
        layer)  # averages gradients over ranks, as in training
    for splits in ([4,
                    4], [3,
                         5]):  # half a batch each, then uneven local batches
        bounds = [0] + torch.tensor(splits).cumsum(0).tolist()
        rows = slice(bounds[rank], bounds[rank + 1])
        model.zero_grad()
        a, b = x1[rows].clone().requires_grad_(), x2[rows].clone(
        ).requires_grad_()
        loss = barlow_twins_loss(model(a), model(b))
        loss.backward()
        torch.testing.assert_close(loss.detach(), ref_loss)
        torch.testing.assert_close(layer.weight.grad, ref_w)
        torch.testing.assert_close(layer.bias.grad, ref_b)
        # DDP's convention: each rank's local inputs get W x their share of
        # the averaged objective.
        torch.testing.assert_close(a.grad, world_size * ref_x1[rows])
        torch.testing.assert_close(b.grad, world_size * ref_x2[rows])
    return True


def test_two_gloo_processes_with_half_batches_match_one_process():
    # The reference runs here, in a process without a process group (no
    # collectives).
    reference = _single_process(*_setup())
    assert run_distributed(_worker, 2, (reference, )) == [True, True]
