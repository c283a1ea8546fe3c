"""ResNet10_CIFAR's per-stage widths and the linear probe's standardising
neck."""
import pytest
import torch

from ssl_plugins.registry import MODELS

NET = dict(type='ResNet10_CIFAR', stem_channels=8, base_channels=8,
           strides=(2, 2, 2, 2))


def test_stage_channels_set_each_stage_and_the_output():
    net = MODELS.build(dict(NET, stage_channels=(8, 16, 24, 40)))
    outs = [net.layer1, net.layer2, net.layer3, net.layer4]
    assert [layer[0].conv2.out_channels for layer in outs] == [8, 16, 24, 40]
    assert [layer[0].conv1.in_channels for layer in outs] == [8, 8, 16, 24]
    assert net.feat_dim == 40
    assert net(torch.randn(2, 3, 28, 28))[-1].shape == (2, 40, 2, 2)
    # the default stays base_channels * 2**i, with the same key layout
    plain = MODELS.build(NET)
    assert plain.layer4[0].conv2.out_channels == 64
    wide = MODELS.build(dict(NET, stage_channels=(8, 16, 32, 64)))
    assert ({k: v.shape for k, v in wide.state_dict().items()}
            == {k: v.shape for k, v in plain.state_dict().items()})


def test_stage_channels_checked():
    with pytest.raises(ValueError, match='stage_channels must hold 4'):
        MODELS.build(dict(NET, stage_channels=(8, 16, 32)))
    with pytest.raises(ValueError, match='positive'):
        MODELS.build(dict(NET, stage_channels=(8, 16, 0, 64)))


def test_normalized_pooling_standardises_pooled_features():
    neck = MODELS.build(dict(type='NormalizedGlobalPooling', in_channels=5,
                             momentum=None))  # cumulative running stats
    torch.manual_seed(0)
    scale = torch.tensor([1e-3, 1., 10., 100., 1e3]).view(1, 5, 1, 1)
    x = torch.rand(64, 5, 3, 3) * scale + 7
    (out, ) = neck.train()((x, ))
    pooled = x.mean(dim=(2, 3))
    want = (pooled - pooled.mean(0)) / (pooled.var(0, unbiased=False)
                                        + 1e-5).sqrt()
    torch.testing.assert_close(out, want, rtol=1e-3, atol=1e-3)
    # eval mode: the running statistics of the train features
    (ev, ) = neck.eval()((x, ))
    torch.testing.assert_close(
        ev, (pooled - pooled.mean(0)) / (pooled.var(0) + 1e-5).sqrt(),
        rtol=1e-3, atol=1e-3)
    assert list(neck.parameters()) == []  # affine-free: nothing to learn
