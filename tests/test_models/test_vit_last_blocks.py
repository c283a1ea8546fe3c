import pytest
import torch

ARCH = dict(embed_dims=32, num_layers=5, num_heads=2, feedforward_channels=64)


def build(**kwargs):
    from ssl_plugins.models.backbones import ViTLastBlocksClsToken
    torch.manual_seed(0)
    model = ViTLastBlocksClsToken(arch=ARCH,
                                  img_size=32,
                                  patch_size=8,
                                  **kwargs)
    model.init_weights()
    with torch.no_grad():  # non-trivial LayerNorm affine
        model.ln1.weight.uniform_(0.5, 1.5)
        model.ln1.bias.normal_()
    model.eval()  # mmpretrain's ViT.train() returns None: no chaining
    return model


@pytest.mark.parametrize('n, avgpool', [(4, False), (1, True), (5, False)])
def test_matches_dino_feature_definition(n, avgpool):
    from mmpretrain.models import VisionTransformer
    model = build(n_last_blocks=n, avgpool_patchtokens=avgpool)
    # the plain mmpretrain ViT with the same weights, block outputs hooked
    ref = VisionTransformer(arch=ARCH, img_size=32, patch_size=8)
    ref.load_state_dict(model.state_dict(), strict=True)
    ref.eval()
    outs = []
    for layer in ref.layers:
        layer.register_forward_hook(lambda m, a, o: outs.append(o))
    x = torch.randn(3, 3, 40, 32)  # not the pretraining size: pos-embed resize
    with torch.no_grad():
        (feat, ) = model(x)
        ref(x)
        normed = [ref.ln1(o) for o in outs[-n:]]
    expected = [t[:, 0] for t in normed]
    if avgpool:
        expected.append(normed[-1][:, 1:].mean(1))
    expected = torch.cat(expected, dim=-1)
    assert feat.shape == (3, model.out_channels) == expected.shape
    torch.testing.assert_close(feat, expected)


def test_bad_arguments():
    with pytest.raises(ValueError, match='n_last_blocks'):
        build(n_last_blocks=6)
    with pytest.raises(ValueError, match='final_norm'):
        build(final_norm=False)
