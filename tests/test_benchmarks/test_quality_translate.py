"""benchmarks/quality_lib/translate.py: mmpretrain's runs train our
config's network with its own model; our speed options (bf16,
``ChannelsLastHook``) are given to ours only."""
import pytest

from benchmarks.quality_lib.configs import build_cfg, load_cfg
from benchmarks.quality_lib.translate import mmpretrain_model
from quality_helpers import quality_args


def test_bf16_applies_to_ours_only(fake_fmnist, tmp_path):
    args = quality_args(fake_fmnist, '--bf16')
    ours = build_cfg('byol', 'ours', 10, str(tmp_path), args)
    assert ours.optim_wrapper.type == 'AutocastOptimWrapper'
    assert ours.optim_wrapper.dtype == 'bfloat16'
    assert ours.optim_wrapper.optimizer.type == 'LARS'  # kept
    theirs = build_cfg('byol', 'mmpretrain', 10, str(tmp_path), args)
    assert theirs.optim_wrapper.type == 'OptimWrapper'
    # our NHWC hook is not given to mmpretrain's runs
    assert 'ChannelsLastHook' in str(ours.custom_hooks)
    assert 'ChannelsLastHook' not in str(theirs.custom_hooks)


@pytest.mark.parametrize('method', ['byol', 'swav', 'simsiam'])
def test_mmpretrain_model_trains_the_configs_network(method, fake_fmnist):
    """mmpretrain's model gets our config's backbone: its own class where it
    has one (ResNet_CIFAR), else ours (ResNet10_CIFAR), same arguments."""
    from ssl_plugins.registry import MODELS
    cfg = load_cfg(method, quality_args(fake_fmnist))
    theirs = mmpretrain_model(cfg)
    ours_bb = MODELS.build(cfg.model.backbone)
    theirs_bb = MODELS.build(theirs['backbone'])
    assert type(theirs_bb).__name__ == type(ours_bb).__name__
    assert (type(theirs_bb).__module__.startswith('mmpretrain')
            == (cfg.model.backbone.type == 'ResNet_CIFAR'))
    assert {k: v.shape for k, v in theirs_bb.state_dict().items()} == {
        k: v.shape for k, v in ours_bb.state_dict().items()}
