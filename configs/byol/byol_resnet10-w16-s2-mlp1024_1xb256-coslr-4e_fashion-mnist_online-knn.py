# The README's demo: the Fashion-MNIST BYOL config plus an online kNN
# evaluation every 2 epochs (10,000 train / 2,000 test images, k=20 and 200,
# T=0.07), so `tools/analysis/plot_curves.py` can draw loss and kNN curves.
_base_ = ['./byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py']

custom_hooks = [
    dict(type='TargetMomentumHook', end_momentum=1.0),
    dict(type='ChannelsLastHook'),  # as the base config: same values
    dict(type='KNNHook', interval=2, max_samples=(10000, 2000)),
]
