"""The methods' configs and the config of one budgeted run
(``build_cfg``: iteration-based, our or mmpretrain's model, the hook
conversions)."""
import os.path as osp

from benchmarks.quality_lib.augment import batched_aug_cfg
from benchmarks.quality_lib.iterations import (budget_schedulers,
                                               epoch_iterations,
                                               iteration_hooks)
from benchmarks.quality_lib.translate import mmpretrain_hooks, mmpretrain_model

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
#: DINO's Fashion-MNIST config (switch here, or ``--config dino=PATH``).
DINO_CONFIG = ('configs/dino/'
               'dino_resnet10-w16-s2-bnhead-h512-k1024_1xb256-coslr-4e_'
               'fashion-mnist.py')
CONFIGS = {
    'byol': 'configs/byol/'
    'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py',
    'simsiam':
    'configs/simsiam/simsiam_resnet18-w32-s2_1xb256-coslr-3e_fashion-mnist.py',
    'barlow_twins': 'configs/barlow_twins/'
    'barlowtwins_resnet18-w32-s2-proj2048_1xb256-coslr-3e_fashion-mnist.py',
    'swav': 'configs/swav/'
    'swav_resnet10-w16-s2-proj1024-k1000_1xb256-mcrop-2-6-cj0.4-coslr-3e_'
    'fashion-mnist.py',
    'dino': DINO_CONFIG,
}
#: Methods without an implementation in mmpretrain 1.2's pip package.
NO_MMPRETRAIN = {
    'dino': "mmpretrain 1.2's pip package has no DINO (its repository keeps "
            'one under projects/dino/, which is not installed)',
}
#: Backbone the kNN reads where it is not ``model.backbone`` (the online /
#: student network): DINO's teacher, as the paper and its published weights.
KNN_SOURCE = {'dino': 'teacher'}


def load_cfg(method, args):
    """The method's config, with ``--data-root`` applied."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, args.configs[method]))
    if args.data_root:
        cfg.train_dataloader.dataset.data_root = args.data_root
        for split in ('train', 'test'):
            cfg.knn_eval[split].data_root = args.data_root
    return cfg


def build_cfg(method, impl, max_iters, work_dir, args):
    """The run's config; ``cfg.converted`` lists the hook conversions at
    ``cfg.epoch_iters`` iterations per epoch."""
    cfg = load_cfg(method, args)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    if args.batch_size:
        cfg.train_dataloader.batch_size = args.batch_size
    cfg.train_dataloader.num_workers = args.num_workers
    cfg.train_dataloader.persistent_workers = args.num_workers > 0
    cfg.train_dataloader.drop_last = True
    epoch_iters = epoch_iterations(cfg, max_iters, args.epoch_rule)
    hooks, converted = iteration_hooks(cfg.get('custom_hooks', []),
                                       epoch_iters)
    if impl == 'mmpretrain':
        hooks = mmpretrain_hooks(hooks, cfg)
        cfg.model = mmpretrain_model(cfg)
    cfg.custom_hooks = hooks
    if impl == 'ours' and args.aug == 'batched':
        cfg = batched_aug_cfg(cfg)
    if impl == 'ours' and args.bf16:
        cfg.optim_wrapper = dict(cfg.optim_wrapper,
                                 type='AutocastOptimWrapper',
                                 dtype='bfloat16')
    cfg.converted, cfg.epoch_iters = converted, epoch_iters
    cfg.param_scheduler = budget_schedulers(cfg, max_iters)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook',
                                    interval=max(1, max_iters // 5))
    cfg.auto_scale_lr = dict(enable=True, base_batch_size=256)
    return cfg
