"""state_dict_differences against torch's own load_state_dict verdict, and
the two callers' messages built on it."""
import re

import pytest
import torch
from torch import nn

from ssl_plugins.engine.checkpoint_io import check_resumed_state
from ssl_plugins.evaluation.backbone_export import \
    torchvision_resnet_differences
from ssl_plugins.models.utils.state_dict_diff import state_dict_differences


def _net(hidden: int, extra: bool) -> nn.Module:
    layers = [nn.Linear(4, hidden), nn.BatchNorm1d(hidden),
              nn.Linear(hidden, 3)]
    if extra:
        layers.append(nn.Linear(3, 2))
    return nn.Sequential(*layers)


@pytest.mark.parametrize('hidden', [8, 6])
@pytest.mark.parametrize('model_extra,given_extra', [(False, False),
                                                     (False, True),
                                                     (True, False)])
def test_differences_are_what_torch_reports(hidden, model_extra,
                                            given_extra):
    """Missing, unexpected and reshaped keys, each as torch's own
    load_state_dict names them, in the documented order."""
    model = _net(8, model_extra)
    ours = model.state_dict()
    given = _net(hidden, given_extra).state_dict()
    diff = state_dict_differences(ours, given)

    # torch: size mismatches raise, naming each key
    try:
        model.load_state_dict(given, strict=False)
        torch_reshaped = []
    except RuntimeError as err:
        torch_reshaped = re.findall(r'size mismatch for (\S+): ', str(err))
        assert torch_reshaped
    assert [k for k, _, _ in diff.reshaped] == [k for k in given
                                                if k in torch_reshaped]
    for key, theirs, expected in diff.reshaped:
        assert theirs == tuple(given[key].shape)
        assert expected == tuple(ours[key].shape)
    result = _net(8, model_extra).load_state_dict(
        {k: v for k, v in given.items() if k not in torch_reshaped},
        strict=False)
    assert diff.missing == [k for k in ours if k in result.missing_keys
                            and k not in torch_reshaped]
    assert diff.unexpected == [k for k in given
                               if k in result.unexpected_keys]
    assert bool(diff.missing) == (model_extra and not given_extra)
    assert bool(diff.unexpected) == (given_extra and not model_extra)
    assert bool(diff) == (hidden != 8 or model_extra != given_extra)


def test_shape_tuples_compare_like_tensors_and_skips_apply():
    expected = {'a': (2, 3), 'b': (4, )}
    given = {'a': torch.zeros(2, 3), 'b': torch.zeros(5)}
    assert state_dict_differences(expected, given).reshaped == [('b', (5, ),
                                                                 (4, ))]
    assert not state_dict_differences(expected, given, skip_shapes=['b'])
    # a tuple that is not a shape is no tensor: not compared as one
    assert not state_dict_differences({'c': ('x', )}, {'c': ('y', )})


def test_resume_message_names_each_kind_with_both_shapes():
    model = _net(8, False)
    given = {'module.' + k: v for k, v in _net(6, True).state_dict().items()}
    del given['module.2.bias']
    with pytest.raises(ValueError) as err:
        check_resumed_state('ck.pth', given, model.state_dict())
    text = str(err.value)
    assert 'Cannot resume from ck.pth' in text
    assert '1 of its 9 keys are not in the checkpoint (e.g. 2.bias)' in text
    assert "2 of the checkpoint's keys are not in the model" in text
    assert '0.weight: (6, 4) in the checkpoint, (8, 4) in the model' in text
    check_resumed_state('ck.pth', {'module.' + k: v
                                   for k, v in model.state_dict().items()},
                        model.state_dict())


def test_export_check_names_the_other_width():
    import torchvision
    state = torchvision.models.resnet18(width_per_group=64).state_dict()
    state = {k: v for k, v in state.items() if not k.startswith('fc.')}
    assert torchvision_resnet_differences(state)[0] == 'resnet18'
    state['conv1.weight'] = torch.zeros(32, 3, 7, 7)
    name, problems = torchvision_resnet_differences(state)
    assert name is None
    assert any('conv1.weight (32, 3, 7, 7) vs (64, 3, 7, 7)' in p
               for p in problems), problems
