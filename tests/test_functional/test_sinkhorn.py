"""Sinkhorn-Knopp: parity with the paper's algorithm, marginals, 2-process
equivalence, low-precision inputs."""

import pytest
import torch
import torch.nn.functional as F

from helpers import run_distributed
from ssl_plugins.functional.sinkhorn import sinkhorn_knopp


def reference_sinkhorn(scores, epsilon=0.05, num_iters=3):
    """Paper Alg. 1 / official code, one process, fp64, no stabilisation."""
    q = torch.exp(scores.double() / epsilon).t()  # K x B
    k, b = q.shape
    q = q / q.sum()
    for _ in range(num_iters):
        q = q / q.sum(dim=1, keepdim=True) / k
        q = q / q.sum(dim=0, keepdim=True) / b
    return (q * b).t()


def _scores(b, k, d=128, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    z = F.normalize(torch.randn(b, d, generator=g), dim=1)
    c = F.normalize(torch.randn(k, d, generator=g), dim=1)
    return (z @ c.t()).to(dtype)


@pytest.mark.parametrize('num_iters', [0, 1, 3, 10])
def test_matches_reference(num_iters):
    s = _scores(24, 10)
    q = sinkhorn_knopp(s, num_iters=num_iters)
    ref = reference_sinkhorn(s, num_iters=num_iters)
    assert q.dtype == torch.float32
    torch.testing.assert_close(q.double(), ref, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize('num_iters', [1, 3])
def test_log_domain_path_matches_reference(num_iters):
    # scores of a prototype spanning more than 60 epsilons take the
    # log-domain path; the fp64 reference is still fine at exp(100)
    s = _scores(24, 10, seed=7) * 8
    assert (s.max(0).values - s.min(0).values).max() / 0.05 > 60
    q = sinkhorn_knopp(s, num_iters=num_iters)
    torch.testing.assert_close(q.double(), reference_sinkhorn(s, 0.05,
                                                              num_iters),
                               rtol=1e-4, atol=1e-7)


def test_matches_reference_other_epsilon_fp64():
    s = _scores(16, 7, dtype=torch.float64) * 0.3
    q = sinkhorn_knopp(s, epsilon=0.1, num_iters=5)
    assert q.dtype == torch.float64
    torch.testing.assert_close(q, reference_sinkhorn(s, 0.1, 5),
                               rtol=1e-10, atol=1e-12)


def test_marginals_uniform():
    b, k = 64, 16
    s = _scores(b, k, seed=1)
    # after the last (column) step every sample is fully assigned
    q = sinkhorn_knopp(s)
    torch.testing.assert_close(q.sum(dim=1), torch.ones(b))
    assert (q >= 0).all()
    # prototypes: each gets B/K of the mass, approximately after 3 iterations
    # (4% here) and tightly when iterated to convergence
    torch.testing.assert_close(q.sum(dim=0), torch.full((k, ), b / k),
                               rtol=0.1, atol=0)
    q = sinkhorn_knopp(s, num_iters=100)
    torch.testing.assert_close(q.sum(dim=0), torch.full((k, ), b / k),
                               rtol=1e-4, atol=0)
    # and without equipartition the plain softmax is far from uniform
    p = F.softmax(s / 0.05, dim=1)
    assert (p.sum(dim=0) - b / k).abs().max() > 0.2 * b / k


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_low_precision_finite(dtype):
    # unnormalised scores: exp(s / eps) overflows fp32 (and fp16) without the
    # max subtraction (|s| / eps up to ~600)
    s = (_scores(32, 12, seed=2) * 30).to(dtype)
    q = sinkhorn_knopp(s)
    assert q.dtype == torch.float32
    assert torch.isfinite(q).all()
    torch.testing.assert_close(q.sum(dim=1), torch.ones(32))
    # same result as the fp32 computation on the same (rounded) values
    torch.testing.assert_close(q, sinkhorn_knopp(s.float()))
    # moderate half-precision scores match the fp64 reference
    s = _scores(32, 12, seed=3).to(dtype)
    torch.testing.assert_close(reference_sinkhorn(s.double()).float(),
                               sinkhorn_knopp(s), rtol=1e-4, atol=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match='shape'):
        sinkhorn_knopp(torch.randn(3, 4, 5))
    with pytest.raises(ValueError, match='epsilon'):
        sinkhorn_knopp(torch.randn(3, 4), epsilon=0)


def _worker(rank, world, cases):
    for splits, scale in cases:
        s = _scores(sum(splits), 20, seed=4) * scale
        full = sinkhorn_knopp(s, distributed=False)
        start = sum(splits[:rank])
        local = s[start:start + splits[rank]]
        q = sinkhorn_knopp(local)
        torch.testing.assert_close(q, full[start:start + splits[rank]],
                                   rtol=1e-5, atol=1e-7)
        # local-only codes differ: the reduction is what makes them exact
        alone = sinkhorn_knopp(local, distributed=False)
        assert not torch.allclose(alone, q, rtol=1e-3, atol=1e-5)


def test_two_processes_equal_one():
    # equal and unequal shards; scale 30 takes the log-domain path
    # (one process group for all cases: spawning dominates the run time)
    cases = [((16, 16), 1.0), ((11, 21), 1.0), ((11, 21), 30.0)]
    run_distributed(_worker, 2, args=(cases, ))
