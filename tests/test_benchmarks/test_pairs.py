"""The benchmark's model pairs are the same function: ours and the
reference's (mmpretrain's; lightly's for DINO, skipped without lightly
except in CI, which installs it), with copied weights, give the same loss
(on our scale) on the same batch, and one optimizer step keeps them equal
(same gradients)."""
import copy

import pytest
import torch

from benchmarks.pairs import METHODS, copy_parameters, matched_parameters
from helpers import import_benchmark_extra
from ssl_plugins.registry import MODELS

BACKBONE = dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=8,
                base_channels=8, strides=(2, 2, 2, 2),
                norm_cfg=dict(type='BN'))
PROJ = dict(byol_hid=32, byol_out=16, simsiam_dim=32, simsiam_pred=8,
            barlow_dim=32, swav_hid=32, swav_out=16, swav_prototypes=10,
            dino_hid=32, dino_bottleneck=16, dino_out=64)


def _batch(method, n=8, side=16):
    from benchmarks.speed import make_batch
    return make_batch(method, n, side, 'cpu', seed=1)


@pytest.mark.parametrize('method', sorted(METHODS))
def test_same_loss_and_same_step(method):
    if METHODS[method].requires:
        import_benchmark_extra(METHODS[method].requires)
    from mmengine.logging import MessageHub
    from mmengine.optim import OptimWrapper
    MessageHub.get_current_instance().update_info('max_iters', 10)
    ours_cfg, theirs_cfg, to_our_scale = METHODS[method][0](BACKBONE, 64,
                                                            PROJ)
    torch.manual_seed(0)
    ours = MODELS.build(ours_cfg)
    ours.init_weights()
    theirs = MODELS.build(theirs_cfg)
    copy_parameters(ours, theirs)
    # ours = a + slope * theirs: theirs' gradients are ours / slope
    slope = to_our_scale(1.0) - to_our_scale(0.0)
    losses = {}
    for name, model, lr in (('ours', ours, 0.1), ('theirs', theirs,
                                                  0.1 * slope)):
        wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=lr))
        losses[name] = float(model.train_step(_batch(method), wrapper)['loss'])
    assert losses['ours'] == pytest.approx(to_our_scale(losses['theirs']),
                                           abs=1e-5)
    # after one SGD step the weights still agree: same gradients
    for part in ('backbone', 'neck', 'head'):
        for p, q in zip(*matched_parameters(ours, theirs, part)):
            torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4)


def test_mismatched_pairs_are_rejected():
    ours_cfg, theirs_cfg, _ = METHODS['simsiam'][0](BACKBONE, 64, PROJ)
    ours = MODELS.build(ours_cfg)
    theirs_cfg = copy.deepcopy(theirs_cfg)
    theirs_cfg['neck']['hid_channels'] = 48
    theirs = MODELS.build(theirs_cfg)
    with pytest.raises(ValueError, match='neck parameter'):
        copy_parameters(ours, theirs)
