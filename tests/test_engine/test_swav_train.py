"""SwAV configs: the ImageNet recipe builds; the Fashion-MNIST one trains
through tools/train.py with a loss starting near ln(K) and decreasing."""
import math
import os.path as osp

from mmengine import Config

from helpers import REPO, load_plain, read_scalars, train
from ssl_plugins.registry import HOOKS, MODELS

IN1K = ('configs/swav/'
        'swav_resnet50_8xb32-mcrop-2-6-coslr-200e_in1k-224px-96px.py')
FMNIST = ('configs/swav/'
          'swav_resnet18_1xb256-mcrop-2-6-coslr-3e_fashion-mnist.py')


def test_imagenet_recipe_builds():
    cfg = Config.fromfile(osp.join(REPO, IN1K))
    model = MODELS.build(cfg.model)
    assert model.head.prototypes.weight.shape == (3000, 128)
    assert model.head.prototypes.bias is None
    assert cfg.find_unused_parameters is False
    hooks = [HOOKS.build(h) for h in cfg.custom_hooks]
    assert [type(h).__name__ for h in hooks] == [
        'SwAVQueueHook', 'FreezePrototypesHook', 'ChannelsLastHook'
    ]
    assert cfg.train_dataloader.batch_size * 8 == \
        cfg.auto_scale_lr.base_batch_size


def test_fashion_mnist_trains_loss_from_ln_k_down(tmp_path, fake_fmnist):
    work_dir = str(tmp_path / 'swav')
    train(FMNIST, work_dir,
          f'train_dataloader.dataset.data_root={fake_fmnist}',
          'train_dataloader.batch_size=16',
          'train_dataloader.num_workers=0',
          'train_dataloader.persistent_workers=False',
          'train_cfg.max_epochs=3',
          'default_hooks.logger.interval=1',
          'log_processor.window_size=1')
    losses = [v for _, v in read_scalars(work_dir, 'loss')]
    assert len(losses) == 12  # 64 images / 16 x 3 epochs
    # untrained 128-d unit embeddings: scores ~ 0, predictions ~ uniform
    assert abs(losses[0] - math.log(3000)) < 0.5, losses
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.01, losses
    assert osp.isfile(osp.join(work_dir, 'epoch_3.pth'))


def test_two_process_training_with_frozen_prototypes_and_queue(
        tmp_path, fake_fmnist):
    """torchrun, 2 gloo processes, DDP with find_unused_parameters=False:
    prototypes frozen for 2 iterations, queue (32 per rank) from epoch 1;
    the checkpoint (written by rank 0 alone) holds both shares."""
    import torch

    from helpers import PYTHON, free_port, run_tool

    work_dir = str(tmp_path / 'swav2')
    common = [
        f'train_dataloader.dataset.data_root={fake_fmnist}',
        'train_dataloader.batch_size=8',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'custom_hooks.0.length=64', 'custom_hooks.0.start_epoch=1',
        'custom_hooks.1.iters=2', 'model.head.num_prototypes=30'
    ]
    run_tool([
        PYTHON, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={free_port()}', 'tools/train.py', FMNIST,
        '--launcher', 'pytorch', '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_epochs=2', *common
    ])
    # plain types only (PlainCheckpointHook): the queue's extra state too
    ckpt = load_plain(osp.join(work_dir, 'epoch_2.pth'))
    queue = ckpt['state_dict']['head.queue._extra_state']
    assert queue.shape == (2, 2, 32, 128)  # ranks, assigned views, 64 / 2
    norms = queue.norm(dim=-1)  # filled with unit embeddings by each rank
    torch.testing.assert_close(norms, torch.ones_like(norms))
    assert not torch.allclose(queue[0], queue[1])
