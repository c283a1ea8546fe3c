# SwAV on Fashion-MNIST for CPUs, on the BYOL/DINO demos' network: CIFAR-stem
# ResNet-18 at base width 16 (channels 16-32-64-128, stride 2 in the first
# stage), about 4x cheaper per step than the width-32 config it inherits
# (swav_resnet18_1xb256-mcrop-2-6-coslr-3e_fashion-mnist.py: head, multi-crop,
# LARS recipe, queue and prototype freezing unchanged).
_base_ = ['./swav_resnet18_1xb256-mcrop-2-6-coslr-3e_fashion-mnist.py']

model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    neck=dict(in_channels=128))
