"""Per-parameter gradient-norm clipping (DINO's ``utils.clip_gradients``).

``torch.nn.utils.clip_grad_norm_`` (and mmengine's ``clip_grad=dict(
max_norm=...)``) rescales *all* gradients by one factor so that their
concatenation has norm <= ``max_norm``. The official DINO code (Caron et al.
2021, ``main_dino.py`` -> ``utils.clip_gradients``, ``--clip_grad 3.0``)
instead treats every parameter on its own:

    c_p = max_norm / (||g_p||_2 + 1e-6);   g_p <- c_p * g_p   if c_p < 1

so a parameter with a large gradient (the 65536-wide last layer) is clipped
without shrinking the small gradients of all the others.
"""
from typing import Dict, Iterable, List, Tuple, Union

import torch


@torch.no_grad()
def clip_grad_norm_per_param_(
        parameters: Union[torch.Tensor, Iterable[torch.Tensor]],
        max_norm: float,
        eps: float = 1e-6) -> torch.Tensor:
    """Scale each parameter's gradient to L2 norm <= ``max_norm``, in place.

    The coefficient ``max_norm / (norm + eps)`` is applied only where it is
    below 1, exactly as DINO's ``clip_gradients`` (non-finite norms too: NaN
    leaves the gradient as it is, inf multiplies it by 0). One
    ``_foreach_norm`` and one ``_foreach_mul_`` per (device, dtype) group, no
    host synchronisation.

    Args:
        parameters (Tensor | Iterable[Tensor]): Parameters whose ``.grad`` is
            clipped; those without a gradient are skipped.
        max_norm (float): Largest L2 norm of one parameter's gradient.
        eps (float): Added to the norm in the coefficient (DINO: 1e-6).

    Returns:
        Tensor: The L2 norm of all gradients together *before* clipping
        (what ``clip_grad_norm_`` returns, so mmengine logs it as
        ``grad_norm``); 0 when no parameter has a gradient.
    """
    if max_norm <= 0:
        raise ValueError(f'max_norm must be positive, got {max_norm}')
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    groups: Dict[Tuple[torch.device, torch.dtype], List[torch.Tensor]] = {}
    for param in parameters:
        if param.grad is not None:
            groups.setdefault((param.grad.device, param.grad.dtype),
                              []).append(param.grad)
    if not groups:
        return torch.tensor(0.0)
    device = next(iter(groups))[0]
    squared = []
    for grads in groups.values():
        norms = torch.stack(torch._foreach_norm(grads))
        coefs = max_norm / (norms + eps)
        coefs = torch.where(coefs < 1, coefs, torch.ones_like(coefs))
        torch._foreach_mul_(grads, list(coefs.unbind()))
        squared.append(norms.float().square().sum().to(device))
    return torch.stack(squared).sum().sqrt()
