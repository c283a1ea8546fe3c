import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from helpers import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FMNIST_BYOL = osp.join(
    ROOT, 'configs/byol/'
    'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')


load = load_tool


def checkpoint(tmp_path):
    from ssl_plugins.registry import MODELS
    torch.manual_seed(1)
    model = MODELS.build(Config.fromfile(FMNIST_BYOL).model)
    model.init_weights()
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.startswith('target.backbone.') and t.is_floating_point():
                t.add_(torch.randn_like(t) * 0.2)
    path = str(tmp_path / 'epoch_3.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return model, path


def reference(model, backbone, root, k):
    from ssl_plugins.evaluation import extract_features
    from ssl_plugins.evaluation.knn import knn_accuracy
    from ssl_plugins.registry import DATASETS
    cfg = Config.fromfile(FMNIST_BYOL).knn_eval
    feats = []
    for split in ('train', 'test'):
        cfg[split]['data_root'] = root
        feats.append(
            extract_features(backbone, model.data_preprocessor,
                             DATASETS.build(cfg[split]), 64))
    return knn_accuracy(*feats[0], *feats[1], k=k, temperature=0.07)


def test_online_target_and_random_rows(tmp_path, fake_fmnist, capsys):
    tool = load('tools/knn_eval.py', 'knn_eval')
    model, ckpt = checkpoint(tmp_path)
    out = str(tmp_path / 'res' / 'knn.json')
    opts = [
        '--cfg-options', f'knn_eval.train.data_root={fake_fmnist}',
        f'knn_eval.test.data_root={fake_fmnist}'
    ]
    rows = tool.main([
        FMNIST_BYOL, ckpt, '--source', 'online', 'target', '--random-init',
        '--k', '5', '20', '--batch-size', '32', '--out', out
    ] + opts)
    assert [name for name, _ in rows] == [
        'random init', 'random init, train-split BN stats',
        'online (epoch_3.pth)', 'target (epoch_3.pth)'
    ]
    for (name, res), backbone in zip(rows[2:],
                                     (model.backbone, model.target.backbone)):
        for k in (5, 20):
            assert res[k] == pytest.approx(
                reference(model, backbone, fake_fmnist, k)), name
    saved = json.load(open(out))
    assert saved['rows'][2]['k20'] == rows[2][1][20]
    assert saved['temperature'] == 0.07
    printed = capsys.readouterr().out
    assert 'k=20 top1' in printed and 'target (epoch_3.pth)' in printed
    # each progress bar is preceded by the backbone and the split it runs on
    lines = [line for line in printed.splitlines() if ': features of' in line]
    assert lines == [
        f'{name}: features of the {split} split ({n} images)'
        for name, _ in rows for split, n in (('train', 64), ('test', 32))
    ]

    # a k above the bank's 64 images is recorded as the k evaluated
    tool.main([FMNIST_BYOL, ckpt, '--k', '5', '100', '--batch-size', '32',
               '--out', out] + opts)
    saved = json.load(open(out))
    assert saved['k'] == [5, 64] and saved['k_requested'] == [5, 100]
    assert sorted(saved['rows'][0]) == ['backbone', 'k5', 'k64']

    # an exported backbone file evaluates like the checkpoint's source
    export = load('tools/extract_backbone_weights.py', 'extract')
    exported = str(tmp_path / 'target_backbone.pth')
    export.main([ckpt, exported, '--source', 'target'])
    rows2 = tool.main([FMNIST_BYOL, exported, '--k', '5'] + opts)
    assert rows2[0][1][5] == rows[3][1][5]


def test_missing_source_is_a_clear_error(tmp_path, fake_fmnist):
    tool = load('tools/knn_eval.py', 'knn_eval')
    ckpt = str(tmp_path / 'only_online.pth')
    model, full = checkpoint(tmp_path)
    state = {
        k: v
        for k, v in model.state_dict().items() if not k.startswith('target.')
    }
    torch.save(dict(state_dict=state), ckpt)
    with pytest.raises(SystemExit, match="only_online.pth: no 'teacher'"):
        tool.main([
            FMNIST_BYOL, ckpt, '--source', 'teacher', '--cfg-options',
            f'knn_eval.train.data_root={fake_fmnist}'
        ])
