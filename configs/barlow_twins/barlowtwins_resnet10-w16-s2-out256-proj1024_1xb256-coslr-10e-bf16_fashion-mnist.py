# Barlow Twins on Fashion-MNIST for CPUs: the proj2048 config on the same
# network (barlowtwins_resnet10-w16-s2-out256-proj2048_...; ResNet10_CIFAR
# w16 with a 256-channel last stage, bf16 autocast, 10 epochs, the paper's
# LARS recipe and lambda 0.0051) with a smaller projector:
# - "-proj1024": projector 1024-1024-1024 (paper 8192-8192-8192,
#   Zbontar et al. 2021 §4 "projector dimensionality"; the paper's accuracy
#   grows with it, but here the 2048-wide projector costs more than the
#   backbone: 0.44 s vs 0.24 s per iteration of 256 images on 2 EPYC cores,
#   bf16). Chosen on a validation split (the last 10,000 train images; bank
#   and linear fit: the other 50,000) at equal wall clock (4 minutes):
#   kNN 81.82 / linear 84.58 with 1024 (986 iterations) against
#   79.81 / 83.08 with 2048 (600 iterations) (docs/benchmarks.md,
#   "Recipe probes").
_base_ = [
    './barlowtwins_resnet10-w16-s2-out256-proj2048_1xb256-coslr-10e-bf16_'
    'fashion-mnist.py'
]
model = dict(neck=dict(hid_channels=1024, out_channels=1024))
