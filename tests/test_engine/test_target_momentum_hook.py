"""TargetMomentumHook refuses a momentum outside [0, 1], naming it."""
import types

import pytest
import torch

from ssl_plugins.engine.hooks import TargetMomentumHook


@pytest.mark.parametrize('value', [2.0, -0.1, '0.99', None])
def test_end_momentum_outside_unit_interval_is_named(value):
    with pytest.raises(ValueError, match=r'end_momentum=.*\[0, 1\]'):
        TargetMomentumHook(end_momentum=value)


def test_base_momentum_of_the_model_is_checked_before_training():
    model = torch.nn.Linear(2, 2)
    model.base_momentum = 1.5
    model.set_momentum = lambda tau: None
    runner = types.SimpleNamespace(model=model, iter=0,
                                   optim_wrapper=types.SimpleNamespace())
    with pytest.raises(ValueError, match="base_momentum=1.5"):
        TargetMomentumHook(end_momentum=1.0).before_train(runner)
    model.base_momentum = 0.99
    TargetMomentumHook(end_momentum=1.0).before_train(runner)
