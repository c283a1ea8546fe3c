# SwAV on Fashion-MNIST for CPUs, on the BYOL / DINO configs' network, with a
# smaller head, so that a 10-minute run on 2 cores trains ~1.5x the
# iterations of the paper-sized head (docs/benchmarks.md). Changed from the
# width-32 config it inherits (swav_resnet18_1xb256-mcrop-2-6-coslr-3e_...:
# multi-crop, LARS recipe, queue and prototype freezing unchanged), as the
# file name says:
# - "resnet10-w16-s2": CIFAR-stem ResNet with one BasicBlock per stage
#   (ResNet10_CIFAR, half of ResNet-18's cost per image), base width 16
#   (channels 16-32-64-128), stride 2 in the first stage;
# - "-proj1024": projector hidden layer 1024 (paper 2048), output 128;
# - "-k1000": 1000 prototypes (paper 3000; the paper reports little effect
#   of their number, Caron et al. 2020 App. "number of prototypes").
# The backbone's BN running statistics come from the global crops only
# (SwAV's bn_stats_from_global_views default; training unchanged).
_base_ = ['./swav_resnet18_1xb256-mcrop-2-6-coslr-3e_fashion-mnist.py']

model = dict(
    backbone=dict(_delete_=True, type='ResNet10_CIFAR', stem_channels=16,
                  base_channels=16, strides=(2, 2, 2, 2),
                  norm_cfg=dict(type='BN'),
                  zero_init_residual=False),  # as the official ResNet
    neck=dict(in_channels=128, hid_channels=1024),
    head=dict(num_prototypes=1000))
