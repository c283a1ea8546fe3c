"""clip_grad=dict(type='per_param') in config-built optimizer wrappers."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper

from ssl_plugins.registry import OPTIM_WRAPPERS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DINO_CONFIGS = [
    'configs/dino/'
    'dino_resnet10-w16-s2-bnhead-h512-k1024_1xb256-coslr-4e_fashion-mnist.py',
    'configs/dino/dino_resnet50_8xb64-coslr-100e_in1k.py',
    'configs/dino/dino_vit-small-p16_8xb64-coslr-100e_in1k.py',
]


class TwoWeights(torch.nn.Module):
    """loss = 10 * sum(big) + 0.01 * sum(small): known constant gradients."""

    def __init__(self):
        super().__init__()
        self.big = torch.nn.Parameter(torch.zeros(4, 4))  # grad norm 40
        self.small = torch.nn.Parameter(torch.zeros(4))  # grad norm 0.02

    def forward(self):
        return 10 * self.big.sum() + 0.01 * self.small.sum()


def sgd_step(wrapper, model):
    """One update with plain SGD at lr 1: the change is minus the gradient
    after clipping."""
    with wrapper.optim_context(model):
        loss = model()
    wrapper.update_params(loss.float())
    return -model.big.detach(), -model.small.detach()


def plain_sgd():
    return dict(type='SGD', lr=1.0, momentum=0.0, weight_decay=0.0)


def assert_clipped_per_parameter(big, small):
    # big: clipped to norm 3 (coefficient 3 / (40 + 1e-6)); small untouched
    torch.testing.assert_close(big, torch.full((4, 4), 10 * 3 / (40 + 1e-6)))
    torch.testing.assert_close(small, torch.full((4, ), 0.01))


@pytest.mark.parametrize('config', DINO_CONFIGS)
def test_dino_configs_clip_each_parameter(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    assert cfg.optim_wrapper.clip_grad == dict(type='per_param', max_norm=3.0)
    model = TwoWeights()
    optim_cfg = cfg.optim_wrapper.to_dict()
    optim_cfg['optimizer'] = plain_sgd()
    wrapper = build_optim_wrapper(model, optim_cfg)
    assert_clipped_per_parameter(*sgd_step(wrapper, model))
    # logged: the global norm before clipping, as for type 'norm'
    logged = MessageHub.get_current_instance().get_scalar('train/grad_norm')
    assert logged.current() == pytest.approx((16 * 100 + 4 * 1e-4)**0.5)


def test_default_clipping_stays_global():
    model = TwoWeights()
    wrapper = OPTIM_WRAPPERS.build(dict(
        type='OptimWrapper', clip_grad=dict(max_norm=3.0),
        optimizer=torch.optim.SGD(model.parameters(), lr=1.0)))
    big, small = sgd_step(wrapper, model)
    assert small[0] < 0.01 * 0.1  # shrunk with everything else


def test_composes_with_autocast():
    model = TwoWeights()
    wrapper = OPTIM_WRAPPERS.build(dict(
        type='AutocastOptimWrapper', dtype='bfloat16',
        clip_grad=dict(type='per_param', max_norm=3.0),
        optimizer=torch.optim.SGD(model.parameters(), lr=1.0)))
    assert_clipped_per_parameter(*sgd_step(wrapper, model))


def test_amp_clips_the_unscaled_gradients(monkeypatch):
    """AmpOptimWrapper (what --amp selects) unscales, then clips per param.

    mmengine refuses to build it without a GPU, so the check is lifted and
    its CUDA scaler replaced by torch's CPU one (same unscale/step logic).
    """
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    model = TwoWeights()
    wrapper = OPTIM_WRAPPERS.build(dict(
        type='AmpOptimWrapper', loss_scale=1024.0,
        clip_grad=dict(type='per_param', max_norm=3.0),
        optimizer=torch.optim.SGD(model.parameters(), lr=1.0)))
    wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=1024.0)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = model()
    wrapper.update_params(loss)
    assert_clipped_per_parameter(-model.big.detach(), -model.small.detach())


def test_train_py_amp_keeps_per_parameter_clipping():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(ROOT, 'tools', 'train.py'))
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    config = osp.join(ROOT, DINO_CONFIGS[0])
    cfg = train.merge_args(Config.fromfile(config),
                           train.parse_args([config, '--amp']))
    # fp16 AMP on a GPU, bf16 autocast without one (tools/train.py)
    assert cfg.optim_wrapper.type == ('AmpOptimWrapper'
                                      if torch.cuda.is_available() else
                                      'AutocastOptimWrapper')
    assert cfg.optim_wrapper.clip_grad == dict(type='per_param', max_norm=3.0)


@pytest.mark.parametrize('clip_grad', [
    dict(type='per_param', norm_type=1.0, max_norm=3.0),
    dict(type='per_param', eps=1e-6),
])
def test_bad_arguments_are_refused_at_build_time(clip_grad):
    model = TwoWeights()
    with pytest.raises(ValueError, match='per_param'):
        OPTIM_WRAPPERS.build(dict(
            type='OptimWrapper', clip_grad=clip_grad,
            optimizer=torch.optim.SGD(model.parameters(), lr=1.0)))
