"""Arguments and config look-ups shared by the benchmarks/quality tests."""
from benchmarks import quality
from benchmarks.quality_lib.configs import REPO

BYOL_BATCHED = (f'{REPO}/configs/byol/byol_resnet10-w16-s2-mlp1024_'
                '1xb256-coslr-4e_fashion-mnist_batched-aug.py')
BATCH = 8  # the fake train set has 64 images: 1 epoch = 8 iterations


def quality_args(fake_fmnist, *extra):
    """``benchmarks/quality.py``'s arguments for the fake data set, batch
    :data:`BATCH`, one epoch = one pass over the data (``--epoch-rule
    data``)."""
    return quality.parse_args(['--batch-size', str(BATCH), '--num-workers',
                               '0', '--data-root', fake_fmnist,
                               '--epoch-rule', 'data', *extra])


def hooks_by_name(cfg):
    """The config's custom hooks by class name."""
    return {h['type'].split('.')[-1]: h for h in cfg.custom_hooks}
