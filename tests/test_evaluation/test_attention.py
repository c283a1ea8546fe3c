import pytest
import torch

from ssl_plugins.evaluation.attention import (attention_weights,
                                              last_block_cls_attention)

ARCH = dict(embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64)


def tiny_vit(**kwargs):
    from mmpretrain.models import VisionTransformer
    torch.manual_seed(0)
    vit = VisionTransformer(arch=ARCH, img_size=32, patch_size=8, **kwargs)
    vit.init_weights()
    vit.eval()
    return vit


def test_weights_reproduce_the_fused_attention_output():
    vit = tiny_vit()
    attn = vit.layers[-1].attn
    x = torch.randn(2, 17, 32)
    w = attention_weights(attn, x)
    assert torch.allclose(w.sum(-1), torch.ones(2, 4, 17))
    # straightforward multi-head attention with these weights
    v = attn.qkv(x).reshape(2, 17, 3, 4, 8)[:, :, 2].transpose(1, 2)
    ref = attn.proj((w @ v).transpose(1, 2).reshape(2, 17, 32))
    with torch.no_grad():
        assert torch.allclose(attn(x), ref, atol=1e-5)


@pytest.mark.parametrize('out_type', ['cls_token', 'featmap'])
def test_cls_attention_on_non_square_grid(out_type):
    vit = tiny_vit(out_type=out_type)
    images = torch.randn(2, 3, 24, 40)  # 3 x 5 patches
    maps, hw = last_block_cls_attention(vit, images)
    assert hw == (3, 5) and maps.shape == (2, 4, 3, 5)
    # the class-token row minus its self-attention
    captured = {}
    h = vit.layers[-1].attn.register_forward_pre_hook(
        lambda m, a: captured.setdefault('x', a[0]))
    with torch.no_grad():
        vit(images)
    h.remove()
    full = attention_weights(vit.layers[-1].attn, captured['x'])
    assert torch.allclose(maps.flatten(2), full[:, :, 0, 1:])
    assert torch.all(maps.flatten(2).sum(-1) < 1)


def test_not_a_vit_is_refused():
    with pytest.raises(TypeError, match='VisionTransformer'):
        last_block_cls_attention(torch.nn.Linear(2, 2), torch.randn(1, 2))
