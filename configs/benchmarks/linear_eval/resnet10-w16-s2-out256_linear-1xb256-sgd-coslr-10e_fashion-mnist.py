# Linear evaluation on Fashion-MNIST of the demo's backbone: ResNet10_CIFAR
# w16-s2 with a 256-channel last stage ("-out256", the BYOL config
# byol_resnet10-w16-s2-out256-mlp1024_1xb256-coslr-10e-bf16_fashion-mnist.py);
# otherwise the w16-s2 linear config, recipe unchanged.
_base_ = ['./resnet10-w16-s2_linear-1xb256-sgd-coslr-10e_fashion-mnist.py']

model = dict(
    backbone=dict(stage_channels=(16, 32, 64, 256)),
    neck=dict(in_channels=256),
    head=dict(in_channels=256))
