"""KNNHook under 2 gloo processes: rank 0 computes, every rank gets it."""
import os.path as osp
from types import SimpleNamespace

import torch
from mmengine.config import Config

from helpers import REPO, run_distributed

FMNIST_CFG = osp.join(
    REPO, 'configs/byol/'
    'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')


class Recorder:

    def __init__(self):
        self.calls = []

    def add_scalars(self, scalars, step, file_path=None):
        self.calls.append((dict(scalars), step))

    def info(self, msg):
        self.calls.append(msg)


def fake_runner(data_root):
    from mmengine.logging import MessageHub

    from ssl_plugins.registry import MODELS
    from ssl_plugins.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(FMNIST_CFG)
    for split in ('train', 'test'):
        cfg.knn_eval[split]['data_root'] = data_root
    cfg.model.backbone.update(stem_channels=8, base_channels=8)
    cfg.model.neck.in_channels = 64
    torch.manual_seed(0)  # same weights on every rank, as after DDP's sync
    model = MODELS.build(cfg.model)
    model.init_weights()
    rec = Recorder()
    return SimpleNamespace(model=model, cfg=cfg, hooks=[], visualizer=rec,
                           logger=rec, iter=7,
                           message_hub=MessageHub.get_instance('knn_test'))


def evaluate_on_rank(rank, world_size, data_root):
    from ssl_plugins.engine.hooks import KNNHook
    hook = KNNHook(k=(5, ), batch_size=16)
    runner = fake_runner(data_root)
    results = hook.evaluate(runner, epoch=2)
    return dict(results=results, built=hook._datasets is not None,
                logged=runner.visualizer.calls[0],
                hub=runner.message_hub.get_info('knn'))


def test_rank0_computes_and_all_ranks_log_the_same(fake_fmnist):
    from ssl_plugins.engine.hooks import KNNHook
    single = KNNHook(k=(5, ), batch_size=16).compute(fake_runner(fake_fmnist))
    out = run_distributed(evaluate_on_rank, 2, args=(fake_fmnist, ))
    assert out[0]['built'] and not out[1]['built']  # only rank 0 extracts
    for rank_out in out:
        assert rank_out['results'] == single
        assert rank_out['hub'] == single
        scalars, step = rank_out['logged']
        assert step == 7 and scalars['epoch'] == 2
        assert scalars['knn/top1'] == single['knn/top1']
