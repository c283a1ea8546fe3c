"""Class-token self-attention of a ViT's last block (DINO paper, Fig. 1/3).

mmpretrain's ``MultiheadAttention`` computes attention with the fused
``scaled_dot_product_attention``, which never materialises the weights. We
hook the input of the last block's attention module and recompute
``softmax(q k^T / sqrt(head_dims))`` from its own ``qkv`` projection, which is
exactly what the fused kernel computes (mmpretrain 1.2 uses the scale
``head_dims ** -0.5`` whatever ``qk_scale`` says).
"""
from typing import Tuple

import torch
from torch import nn


def find_last_attention(vit: nn.Module) -> nn.Module:
    """The attention module of a ViT's last block.

    Args:
        vit (nn.Module): mmpretrain ``VisionTransformer``-like backbone.

    Returns:
        nn.Module: ``vit.layers[-1].attn``.

    Raises:
        TypeError: No ``layers`` (a ResNet, say), or the last block has no
            multi-head attention with a fused ``qkv`` projection.
    """
    layers = getattr(vit, 'layers', None)
    if layers is None or len(layers) == 0:
        raise TypeError(
            f'{type(vit).__name__} has no `layers`: attention maps '
            'need an mmpretrain VisionTransformer-like backbone')
    attn = getattr(layers[-1], 'attn', None)
    if attn is None or not all(
            hasattr(attn, a) for a in ('qkv', 'num_heads', 'head_dims')):
        raise TypeError(f'the last block of {type(vit).__name__} has no '
                        'multi-head attention with a fused `qkv` projection')
    return attn


def attention_weights(attn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Softmax attention weights of an mmpretrain ``MultiheadAttention``.

    Args:
        attn (nn.Module): Module with ``qkv`` (Linear to 3*C), ``num_heads``
            and ``head_dims``.
        x (torch.Tensor): Its input, ``(B, N, C_in)``.

    Returns:
        torch.Tensor: ``(B, heads, N, N)``; rows sum to 1.
    """
    b, n, _ = x.shape
    qkv = attn.qkv(x).reshape(b, n, 3, attn.num_heads, attn.head_dims)
    q, k = qkv[:, :, 0].transpose(1, 2), qkv[:, :, 1].transpose(1, 2)
    scores = q @ k.transpose(-2, -1) * attn.head_dims**-0.5
    return scores.float().softmax(dim=-1)


@torch.no_grad()
def last_block_cls_attention(
        vit: nn.Module,
        images: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """Attention of the class token to every patch in the last block.

    Args:
        vit (nn.Module): mmpretrain ``VisionTransformer`` (any ``out_type``);
            ``num_extra_tokens`` (1 for the class token) is read from it.
        images (torch.Tensor): Normalised images ``(B, 3, H, W)``; H and W
            multiples of the patch size.

    Returns:
        tuple: ``(maps, (h, w))`` where ``maps`` is ``(B, heads, h, w)`` on
        the patch grid; each head's map sums to at most 1 (the rest of the
        mass goes to the extra tokens).
    """
    attn = find_last_attention(vit)
    extra = int(getattr(vit, 'num_extra_tokens', 1))
    if extra < 1 or getattr(vit, 'cls_token', None) is None:
        raise ValueError('the backbone has no class token '
                         '(with_cls_token=False): nothing to visualise')
    captured = {}

    def grab_input(module, args):
        captured['x'] = args[0]

    def grab_grid(module, args, output):
        captured['hw'] = output[1]

    handles = [attn.register_forward_pre_hook(grab_input)]
    if hasattr(vit, 'patch_embed'):
        handles.append(vit.patch_embed.register_forward_hook(grab_grid))
    try:
        vit(images)
    finally:
        for h in handles:
            h.remove()
    weights = attention_weights(attn, captured['x'])
    n_patches = weights.shape[-1] - extra
    hw = captured.get('hw')
    if hw is None:
        side = int(round(n_patches**0.5))
        hw = (side, side)
    h, w = int(hw[0]), int(hw[1])
    if h * w != n_patches:
        raise ValueError(f'{n_patches} patch tokens do not form the '
                         f'{h}x{w} grid')
    cls_row = weights[:, :, 0, extra:]
    return cls_row.reshape(weights.shape[0], weights.shape[1], h, w), (h, w)
