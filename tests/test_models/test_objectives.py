"""One objective file per method: the configs' stateless loss names are the
pure functions themselves (no wrapper classes), the ``functional`` import
paths give the same objects, heads bind a loss config's keys, and SwAV's
queue is a module of the head whose state is in the state dict (not a
buffer)."""
import inspect

import pytest
import torch

from ssl_plugins.models.utils import SwAVQueue, build_loss_function
from ssl_plugins.registry import MODELS
from swav_helpers import build_tiny_swav, multicrop


def test_loss_config_names_are_the_functions_of_the_objective_files():
    from ssl_plugins.functional import barlow_twins, byol, dino, simsiam, swav
    from ssl_plugins.models.heads import dino_head, swav_head
    from ssl_plugins.models.losses import (barlow_twins_loss, byol_loss,
                                           simsiam_loss)
    assert MODELS.get('BYOLLoss') is byol_loss.byol_loss is byol.byol_loss
    assert (MODELS.get('SimSiamLoss') is simsiam.negative_cosine_similarity
            is simsiam_loss.negative_cosine_similarity)
    assert simsiam.simsiam_loss is simsiam_loss.simsiam_loss
    assert MODELS.get('SwAVLoss') is swav_head.swav_loss is swav.swav_loss
    assert dino.dino_loss is dino_head.dino_loss
    assert dino.center_from_sums is dino_head.center_from_sums
    assert barlow_twins.barlow_twins_loss is \
        barlow_twins_loss.barlow_twins_loss
    # the modules with state or settings stay classes, each with loss()
    for name in ('LatentPredictHead', 'BarlowTwinsLoss', 'SwAVHead',
                 'DINOHead'):
        cls = MODELS.get(name)
        assert inspect.isclass(cls) and callable(getattr(cls, 'loss')), name
    assert inspect.isclass(MODELS.get('DINOLoss'))  # settings + centre


def test_build_loss_function_binds_the_config_keys():
    from ssl_plugins.functional.byol import byol_loss
    from ssl_plugins.functional.swav import swav_loss
    fn = build_loss_function(dict(type='SwAVLoss', temperature=0.2))
    assert fn.func is swav_loss and fn.keywords == dict(temperature=0.2)
    q = torch.randn(4, 8)
    torch.testing.assert_close(build_loss_function(dict(type='BYOLLoss'))(
        q, q.flip(0)), byol_loss(q, q.flip(0)))
    with pytest.raises(KeyError, match='NoSuchLoss'):
        build_loss_function(dict(type='NoSuchLoss'))
    with pytest.raises(TypeError, match='loss function'):
        build_loss_function(dict(type='DINOLoss'))


def test_swav_queue_is_the_heads_module_and_not_a_buffer():
    model = build_tiny_swav(feat_dim=8)
    model.train()
    assert isinstance(model.head.queue, SwAVQueue)
    assert model.state_dict()['head.queue._extra_state'].numel() == 0
    model.start_queue(8)
    model(multicrop(batch=4), mode='loss')
    state = model.head.queue.state
    assert state.shape == (1, 2, 8, 8) and state[:, :, :4].abs().sum() > 0
    # not a buffer (DDP would broadcast it from rank 0 every step) ...
    assert not any(b is state for b in model.buffers())
    assert not any(n.startswith('head.queue') for n, _ in
                   model.named_buffers())
    # ... but in the state dict, which the checkpoint carries
    torch.testing.assert_close(model.state_dict()['head.queue._extra_state'],
                               state)
    with pytest.raises(ValueError, match='length must be >= 1'):
        SwAVQueue(2, 8).start(0, like=state)
