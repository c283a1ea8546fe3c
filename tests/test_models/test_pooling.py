"""global_avg_pool: the mean over H, W of a 4-d map, else the input."""
import torch

from ssl_plugins.models.utils.pooling import global_avg_pool


def test_global_avg_pool_of_a_map_and_of_pooled_features():
    x = torch.randn(2, 3, 4, 5)
    assert global_avg_pool(x).shape == (2, 3)
    assert torch.allclose(global_avg_pool(x),
                          x.flatten(2).sum(-1) / 20, atol=1e-6)
    for y in (torch.randn(2, 3), torch.randn(2, 7, 3)):
        assert global_avg_pool(y) is y
