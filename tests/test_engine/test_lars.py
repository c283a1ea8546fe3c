"""LARS step vs the official Barlow Twins update written per parameter."""
import torch

from ssl_plugins.engine.optimizers.lars import lars_update_


def reference_step(p, g, mu, lr, momentum, wd, eta, adapt):
    """facebookresearch/barlowtwins LARS.step for one parameter (filters
    given by ``adapt``)."""
    dp = g.clone()
    # the official filters exclude the same (1-D) params from wd and
    # adaptation
    if adapt:
        dp = dp + wd * p
        p_norm, u_norm = p.norm(), dp.norm()
        q = eta * p_norm / u_norm if (p_norm > 0 and u_norm > 0) else 1.0
        dp = dp * q
    mu = momentum * mu + dp
    return p - lr * mu, mu


def test_matches_official_update_over_several_steps():
    torch.manual_seed(0)
    shapes = [(6, 4), (3, 2, 3, 3), (4, )]
    for adapt, wd in ((True, 1.5e-6), (True, 0.1), (False, 0.0)):
        params = [torch.randn(s, dtype=torch.float64) for s in shapes]
        params[1].zero_()  # zero norm: trust ratio must fall back to 1
        ref = [p.clone() for p in params]
        bufs = [torch.zeros_like(p) for p in params]
        ref_bufs = [torch.zeros_like(p) for p in params]
        for step, lr in enumerate((0.5, 0.3, 0.1)):
            grads = [torch.randn_like(p) for p in params]
            lars_update_(params,
                         grads,
                         bufs,
                         lr=lr,
                         momentum=0.9,
                         weight_decay=wd,
                         eta=0.001,
                         adapt=adapt)
            for i in range(len(ref)):
                ref[i], ref_bufs[i] = reference_step(ref[i], grads[i],
                                                     ref_bufs[i], lr, 0.9, wd,
                                                     0.001, adapt)
            for p, r in zip(params, ref):
                torch.testing.assert_close(p, r)


def test_trust_ratio_makes_the_step_scale_free():
    """With adaptation, scaling the gradient by 1000 does not change a
    momentum-free step."""
    torch.manual_seed(0)
    w = torch.randn(8, 8, dtype=torch.float64)
    g = torch.randn(8, 8, dtype=torch.float64)
    a, b = [w.clone()], [w.clone()]
    lars_update_(a, [g], [torch.zeros_like(w)], lr=1.0, momentum=0.0)
    lars_update_(b, [1000 * g], [torch.zeros_like(w)], lr=1.0, momentum=0.0)
    torch.testing.assert_close(a[0], b[0])
    torch.testing.assert_close((a[0] - w).norm(),
                               0.001 * w.norm())  # ||step|| = eta * ||w||
