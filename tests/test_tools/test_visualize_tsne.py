import importlib.util
import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FMNIST_BYOL = osp.join(
    ROOT, 'configs/byol/'
    'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'visualize_tsne',
        osp.join(ROOT, 'tools', 'analysis', 'visualize_tsne.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tsne_of_random_init_features_keeps_neighbours(tmp_path, fake_fmnist):
    tool = load_tool()
    out = str(tmp_path / 'tsne.png')
    path, points, labels = tool.main([
        FMNIST_BYOL, '--random-init', '--max-samples', '40', '--n-iter', '300',
        '--perplexity', '8', '--backend', 'torch', '--out', out, '--split',
        'train', '--cfg-options', f'knn_eval.train.data_root={fake_fmnist}'
    ])
    assert path == out and osp.isfile(out)
    assert points.shape == (40, 2) and labels.shape == (40, )
    assert len(labels.unique()) > 5  # a random subset, not one class
    # the map's nearest neighbour is among the 10 nearest in feature space
    from mmengine.config import Config
    cfg = Config.fromfile(FMNIST_BYOL)
    cfg.merge_from_dict({'knn_eval.train.data_root': fake_fmnist})

    class Args:
        split, seed, max_samples, random_init = 'train', 0, 40, True
        config = FMNIST_BYOL

    feats, labels2, classes = tool.embed(cfg, Args)
    assert torch.equal(labels, labels2) and classes[0] == 'T-shirt/top'
    d_feat = torch.cdist(feats, feats).fill_diagonal_(float('inf'))
    d_map = torch.cdist(points, points).fill_diagonal_(float('inf'))
    near10 = d_feat.topk(10, largest=False).indices
    nn_map = d_map.argmin(1)
    kept = (near10 == nn_map[:, None]).any(1).float().mean()
    assert kept > 0.6  # random maps give ~10/39


def test_sklearn_backend_error_or_use():
    tool = load_tool()
    try:
        import sklearn  # noqa: F401
    except ImportError:
        with pytest.raises(SystemExit, match='scikit-learn'):
            tool.run_tsne(torch.randn(40, 5), 'sklearn', 5, 250, 0)
    else:
        assert tool.run_tsne(torch.randn(40, 5), 'sklearn', 5, 250,
                             0).shape == (40, 2)


def test_needs_checkpoint_or_random_init():
    tool = load_tool()
    with pytest.raises(SystemExit, match='CHECKPOINT'):
        tool.main([FMNIST_BYOL])
