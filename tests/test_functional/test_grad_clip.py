"""Per-parameter gradient clipping equals DINO's utils.clip_gradients."""
import pytest
import torch

from ssl_plugins.functional.grad_clip import clip_grad_norm_per_param_


def official_clip_gradients(params, clip):
    """The loop of facebookresearch/dino utils.clip_gradients."""
    for p in params:
        if p.grad is not None:
            param_norm = p.grad.norm(2)
            clip_coef = clip / (param_norm + 1e-6)
            if clip_coef < 1:
                p.grad.mul_(clip_coef)


def params_with_grads(scales, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shapes = [(7, 5), (5, ), (3, 4, 2, 2), (11, ), (1, )]
    params = []
    for shape, scale in zip(shapes, scales):
        p = torch.nn.Parameter(torch.zeros(shape, dtype=dtype))
        p.grad = torch.randn(shape, generator=gen, dtype=dtype) * scale
        params.append(p)
    return params


def clone_grads(params):
    out = []
    for p in params:
        q = torch.nn.Parameter(p.detach().clone())
        q.grad = None if p.grad is None else p.grad.clone()
        out.append(q)
    return out


def test_equals_the_official_loop_and_leaves_small_gradients_alone():
    params = params_with_grads([10.0, 0.05, 3.0, 100.0, 0.5])
    params.append(torch.nn.Parameter(torch.ones(2)))  # no gradient
    reference = clone_grads(params)
    globally = clone_grads(params[:5])
    before = [None if p.grad is None else p.grad.clone() for p in params]
    global_norm = torch.stack([g.norm() for g in before if g is not None
                               ]).norm()

    total = clip_grad_norm_per_param_(params, max_norm=3.0)

    official_clip_gradients(reference, 3.0)
    torch.testing.assert_close(total, global_norm)
    for p, q, g in zip(params[:5], reference[:5], before[:5]):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-6, atol=0)
        assert p.grad.norm() <= 3.0 + 1e-5
        if g.norm() < 3.0:  # below the threshold: bit-identical
            assert torch.equal(p.grad, g)
        else:  # above: same direction, norm 3
            torch.testing.assert_close(p.grad.norm(), torch.tensor(3.0))
    assert params[5].grad is None
    # mmengine's default (one global norm) would have shrunk them too
    torch.nn.utils.clip_grad_norm_(globally, 3.0)
    assert globally[1].grad.norm() < 0.1 * before[1].norm()


def test_groups_of_several_dtypes_are_all_clipped():
    params = params_with_grads([10.0, 20.0], torch.float64) + \
        params_with_grads([0.1, 30.0], torch.float32, seed=1)
    reference = clone_grads(params)
    clip_grad_norm_per_param_(params, max_norm=1.0)
    official_clip_gradients(reference, 1.0)
    for p, q in zip(params, reference):
        assert p.grad.dtype == q.grad.dtype
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-6, atol=0)


def test_non_finite_gradients_follow_the_official_rule():
    params = params_with_grads([1.0, 50.0])
    params[0].grad[0, 0] = float('nan')  # coef NaN: not < 1, unchanged
    reference = clone_grads(params)
    clip_grad_norm_per_param_(params, max_norm=3.0)
    official_clip_gradients(reference, 3.0)
    for p, q in zip(params, reference):
        torch.testing.assert_close(p.grad, q.grad, equal_nan=True)


def test_single_tensor_no_gradient_and_bad_threshold():
    p = torch.nn.Parameter(torch.zeros(4))
    assert clip_grad_norm_per_param_(p, 1.0).item() == 0.0
    p.grad = torch.full((4, ), 2.0)  # norm 4
    clip_grad_norm_per_param_(p, 1.0)
    torch.testing.assert_close(p.grad.norm(), torch.tensor(1.0))
    with pytest.raises(ValueError, match='max_norm'):
        clip_grad_norm_per_param_([p], 0.0)
