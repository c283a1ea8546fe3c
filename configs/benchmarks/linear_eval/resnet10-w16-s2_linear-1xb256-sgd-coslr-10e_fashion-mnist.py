# Linear evaluation on Fashion-MNIST of the ResNet10_CIFAR w16-s2 backbone of
# the BYOL, SwAV and DINO CPU configs (`make demo`'s checkpoints): the
# w32-s2 ResNet-18 linear config with that backbone; recipe unchanged.
_base_ = ['./resnet18-w32-s2_linear-1xb256-sgd-coslr-10e_fashion-mnist.py']

model = dict(
    backbone=dict(_delete_=True, type='ResNet10_CIFAR', stem_channels=16,
                  base_channels=16, strides=(2, 2, 2, 2),
                  norm_cfg=dict(type='BN'), frozen_stages=4,
                  init_cfg=dict(type='Pretrained', checkpoint='',
                                prefix='backbone.', strict=True)),
    neck=dict(in_channels=128),
    head=dict(in_channels=128))
