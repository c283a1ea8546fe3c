"""Autograd-aware collectives: values and gradients vs one process holding
everything.

Gradient convention checked (DDP's): a loss identical on all W ranks, after
averaging the ranks' gradients, has the single-process gradient; for a rank's
local input that means ``x_r.grad == W * (single-process grad of those rows)``.
"""
import torch
import torch.distributed as dist

from helpers import run_distributed
from ssl_plugins.functional.distributed import (all_gather_with_grad,
                                                all_reduce_sum_no_grad,
                                                all_reduce_sum_with_grad,
                                                get_rank, get_world_size,
                                                is_dist_initialized)


def _objective(y: torch.Tensor) -> torch.Tensor:
    """A nonlinear function of the whole (gathered/reduced) tensor."""
    w = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)
    return (w * y).sum()**2 + y.pow(3).sum()


def _worker(rank: int, world_size: int, data: torch.Tensor,
            splits: list) -> bool:
    # The gloo process group is set up by helpers.run_distributed.
    assert is_dist_initialized() and get_world_size(
    ) == world_size and get_rank() == rank
    bounds = [0] + list(torch.tensor(splits).cumsum(0).tolist())
    rows = slice(bounds[rank], bounds[rank + 1])

    # all_gather_with_grad, uneven local sizes.
    ref = data.clone().requires_grad_()
    _objective(ref).backward()
    x = data[rows].clone().requires_grad_()
    y = all_gather_with_grad(x)
    torch.testing.assert_close(y, data)
    _objective(y).backward()
    torch.testing.assert_close(x.grad, world_size * ref.grad[rows])

    # all_reduce_sum_with_grad: sum of per-rank tensors of equal shape.
    parts = [data[:2] * (r + 1) for r in range(world_size)]
    ref = [p.clone().requires_grad_() for p in parts]
    _objective(sum(ref)).backward()
    x = parts[rank].clone().requires_grad_()
    y = all_reduce_sum_with_grad(x)
    torch.testing.assert_close(y, sum(parts))
    _objective(y).backward()
    torch.testing.assert_close(x.grad, world_size * ref[rank].grad)

    # Same result without the backward collective when every rank's
    # downstream is the same.
    x = parts[rank].clone().requires_grad_()
    _objective(all_reduce_sum_with_grad(
        x, replicated_downstream=True)).backward()
    torch.testing.assert_close(x.grad, world_size * ref[rank].grad)

    # The peers' bug: an in-place all_reduce hidden from autograd gives 1/W
    # of that gradient.
    x = parts[rank].clone().requires_grad_()
    y = x * 1.0
    dist.all_reduce(y.data)
    _objective(y).backward()
    assert not torch.allclose(x.grad, world_size * ref[rank].grad)

    count = all_reduce_sum_no_grad(torch.tensor(x.shape[0]))
    assert int(count) == world_size * x.shape[0]
    return True


def test_collectives_two_gloo_processes_match_one_process():
    torch.manual_seed(0)
    data = torch.randn(7, 3, dtype=torch.float64)
    assert run_distributed(_worker, 2, (data, [3, 4])) == [True, True]


def test_collectives_are_identity_without_process_group():
    assert not is_dist_initialized()
    assert get_world_size() == 1 and get_rank() == 0
    x = torch.randn(4, 3, requires_grad=True)
    assert all_reduce_sum_with_grad(x) is x
    assert all_gather_with_grad(x) is x
    y = all_reduce_sum_no_grad(x)
    torch.testing.assert_close(y, x.detach())
    assert not y.requires_grad
