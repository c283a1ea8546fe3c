# The README's demo (`make demo`): the 10-epoch bf16 Fashion-MNIST BYOL config
# plus an online kNN evaluation every 5 epochs (10,000 train / 2,000 test
# images, k=20 and 200, T=0.07), so `tools/analysis/plot_curves.py` can draw
# loss and kNN curves.
_base_ = [
    './byol_resnet10-w16-s2-out256-mlp1024_1xb256-coslr-10e-bf16_'
    'fashion-mnist.py'
]

custom_hooks = [
    dict(type='TargetMomentumHook', end_momentum=1.0),
    dict(type='ChannelsLastHook'),  # as the base config: same values
    dict(type='KNNHook', interval=5, max_samples=(10000, 2000)),
]
