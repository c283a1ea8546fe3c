"""AutocastOptimWrapper: bf16 forward on CPU, fp32 parameters; fp32 losses."""
import pytest
import torch

from ssl_plugins.functional.byol import byol_loss
from ssl_plugins.functional.simsiam import negative_cosine_similarity
from ssl_plugins.registry import OPTIM_WRAPPERS


def test_forward_runs_in_bf16_parameters_stay_fp32():
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 4)
    wrapper = OPTIM_WRAPPERS.build(dict(
        type='AutocastOptimWrapper',
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.randn(5, 8))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().pow(2).mean())
    assert model.weight.dtype == torch.float32
    assert not torch.equal(model.weight, before)
    with pytest.raises(ValueError, match='dtype'):
        OPTIM_WRAPPERS.build(dict(
            type='AutocastOptimWrapper', dtype='int8',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))


@pytest.mark.parametrize('loss', [byol_loss, negative_cosine_similarity])
def test_losses_of_bf16_inputs_are_computed_in_fp32(loss):
    p, z = torch.randn(16, 32).bfloat16(), torch.randn(16, 32).bfloat16()
    out = loss(p, z)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, loss(p.float(), z.float()))


def test_barlow_twins_loss_stays_fp32_under_autocast():
    from ssl_plugins.functional.barlow_twins import barlow_twins_loss
    z1, z2 = torch.randn(16, 32), torch.randn(16, 32)
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        out = barlow_twins_loss(z1, z2)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, barlow_twins_loss(z1, z2))
