"""Identical model pairs (ours, a reference's) for the benchmarks.

The reference is mmpretrain 1.2 for BYOL, SimSiam, Barlow Twins and SwAV, and
lightly 1.6 for DINO (:mod:`benchmarks.lightly_dino`; an optional benchmark
dependency, ``requirements/benchmark.txt``). Each builder returns the two
configs of one method on the same backbone, the same projector/predictor
sizes and the same loss, so that, after :func:`copy_parameters`, both compute
the same function of the same weights. Loss scale conventions differ and are
converted by ``to_our_scale``:

- BYOL: ours logs the mean of the two symmetric ``2 - 2cos`` terms, in [0, 4];
  mmpretrain logs ``2 * (-cos1 - cos2)`` in [-4, 0], i.e. ours = 2 + theirs/2.
- SimSiam, Barlow Twins, SwAV, DINO: same value.
"""
import importlib.util
from typing import Callable, Dict, NamedTuple, Optional, Tuple

import torch
from torch import nn

# Backbones: (config, output channels, image side).
BACKBONES = {
    # The Fashion-MNIST configs' network (CPU default): CIFAR stem, width 32,
    # stride 2 in the first stage, 28 px inputs.
    'resnet18-w32-s2': (dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                             stem_channels=32, base_channels=32,
                             strides=(2, 2, 2, 2),
                             norm_cfg=dict(type='BN')), 256, 28),
    # Standard CIFAR ResNet-18 (64-512 channels), 32 px.
    'resnet18-cifar': (dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                            norm_cfg=dict(type='BN')), 512, 32),
    # ImageNet ResNet-18, 224 px (GPU default).
    'resnet18': (dict(type='mmpretrain.ResNet', depth=18,
                      norm_cfg=dict(type='BN')), 512, 224),
    # ImageNet ResNet-50, 224 px: the papers' network (issue 20's GPU row).
    'resnet50': (dict(type='mmpretrain.ResNet', depth=50,
                      norm_cfg=dict(type='BN')), 2048, 224),
}

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def _preprocessors():
    return (dict(type='mmpretrain.SelfSupDataPreprocessor', mean=MEAN,
                 std=STD),
            dict(type='mmpretrain.SelfSupDataPreprocessor', mean=MEAN,
                 std=STD))


def byol(backbone: dict, channels: int, proj: Dict[str, int]):
    hid, out = proj.get('byol_hid', 4096), proj.get('byol_out', 256)
    pre_ours, pre_theirs = _preprocessors()
    ours = dict(
        type='BYOL', base_momentum=0.99, data_preprocessor=pre_ours,
        backbone=backbone,
        neck=dict(type='MLPNeck', in_channels=channels, hid_channels=hid,
                  out_channels=out, num_layers=2),
        head=dict(type='LatentPredictHead',
                  predictor=dict(type='MLPNeck', in_channels=out,
                                 hid_channels=hid, out_channels=out,
                                 num_layers=2, with_avg_pool=False),
                  loss=dict(type='BYOLLoss')))
    nl = dict(type='mmpretrain.NonLinearNeck', hid_channels=hid,
              out_channels=out, num_layers=2, with_bias=True,
              with_last_bias=True, with_last_bn=False,
              norm_cfg=dict(type='BN1d'))
    theirs = dict(
        type='mmpretrain.BYOL', base_momentum=0.01,  # = 1 - tau (mmengine)
        data_preprocessor=pre_theirs, backbone=backbone,
        neck=dict(nl, in_channels=channels, with_avg_pool=True),
        head=dict(type='mmpretrain.LatentPredictHead',
                  predictor=dict(nl, in_channels=out, with_avg_pool=False),
                  loss=dict(type='mmpretrain.CosineSimilarityLoss')))
    return ours, theirs, lambda theirs_loss: 2 + theirs_loss / 2


def simsiam(backbone: dict, channels: int, proj: Dict[str, int]):
    dim, pred = proj.get('simsiam_dim', 2048), proj.get('simsiam_pred', 512)
    pre_ours, pre_theirs = _preprocessors()
    ours = dict(
        type='SimSiam', data_preprocessor=pre_ours,
        backbone=dict(backbone, zero_init_residual=True),
        neck=dict(type='MLPNeck', in_channels=channels, hid_channels=dim,
                  out_channels=dim, num_layers=3, with_bias=False,
                  with_last_bias=False, with_last_bn=True,
                  with_last_bn_affine=False),
        head=dict(type='LatentPredictHead',
                  predictor=dict(type='MLPNeck', in_channels=dim,
                                 hid_channels=pred, out_channels=dim,
                                 num_layers=2, with_bias=False,
                                 with_last_bias=True, with_avg_pool=False),
                  loss=dict(type='SimSiamLoss')))
    theirs = dict(
        type='mmpretrain.SimSiam', data_preprocessor=pre_theirs,
        backbone=dict(backbone, zero_init_residual=True),
        neck=dict(type='mmpretrain.NonLinearNeck', in_channels=channels,
                  hid_channels=dim, out_channels=dim, num_layers=3,
                  with_last_bn_affine=False, with_avg_pool=True,
                  norm_cfg=dict(type='BN1d')),
        head=dict(type='mmpretrain.LatentPredictHead',
                  loss=dict(type='mmpretrain.CosineSimilarityLoss'),
                  predictor=dict(type='mmpretrain.NonLinearNeck',
                                 in_channels=dim, hid_channels=pred,
                                 out_channels=dim, with_avg_pool=False,
                                 with_last_bn=False, with_last_bias=True,
                                 norm_cfg=dict(type='BN1d'))))
    return ours, theirs, lambda theirs_loss: theirs_loss


def barlow_twins(backbone: dict, channels: int, proj: Dict[str, int]):
    dim = proj.get('barlow_dim', 8192)
    pre_ours, pre_theirs = _preprocessors()
    ours = dict(
        type='BarlowTwins', data_preprocessor=pre_ours,
        backbone=dict(backbone, zero_init_residual=True),
        neck=dict(type='MLPNeck', in_channels=channels, hid_channels=dim,
                  out_channels=dim, num_layers=3, with_bias=False,
                  with_last_bias=False),
        head=dict(type='BarlowTwinsLoss', lambd=0.0051))
    theirs = dict(
        type='mmpretrain.BarlowTwins', data_preprocessor=pre_theirs,
        backbone=dict(backbone, zero_init_residual=True),
        neck=dict(type='mmpretrain.NonLinearNeck', in_channels=channels,
                  hid_channels=dim, out_channels=dim, num_layers=3,
                  with_last_bn=False, with_avg_pool=True,
                  norm_cfg=dict(type='BN1d')),
        head=dict(type='mmpretrain.LatentCrossCorrelationHead',
                  in_channels=dim,
                  loss=dict(type='mmpretrain.CrossCorrelationLoss')))
    return ours, theirs, lambda theirs_loss: theirs_loss


def swav(backbone: dict, channels: int, proj: Dict[str, int]):
    hid, out = proj.get('swav_hid', 2048), proj.get('swav_out', 128)
    k = proj.get('swav_prototypes', 3000)
    pre_ours, pre_theirs = _preprocessors()
    ours = dict(
        type='SwAV', data_preprocessor=pre_ours, backbone=backbone,
        neck=dict(type='MLPNeck', in_channels=channels, hid_channels=hid,
                  out_channels=out, num_layers=2),
        head=dict(type='SwAVHead', feat_dim=out, num_prototypes=k,
                  loss=dict(type='SwAVLoss', crops_for_assign=(0, 1),
                            temperature=0.1, epsilon=0.05, num_iters=3)))
    theirs = dict(
        type='mmpretrain.SwAV', data_preprocessor=pre_theirs,
        backbone=backbone,
        neck=dict(type='mmpretrain.SwAVNeck', in_channels=channels,
                  hid_channels=hid, out_channels=out, with_avg_pool=True,
                  norm_cfg=dict(type='BN1d')),
        head=dict(type='mmpretrain.SwAVHead',
                  loss=dict(type='mmpretrain.SwAVLoss', feat_dim=out,
                            sinkhorn_iterations=3, epsilon=0.05,
                            temperature=0.1, crops_for_assign=[0, 1],
                            num_crops=[2, 6], num_prototypes=k)))
    return ours, theirs, lambda theirs_loss: theirs_loss


#: DINO's gradient clipping (max norm), in ours' and lightly's step.
DINO_CLIP = 3.0


def dino(backbone: dict, channels: int, proj: Dict[str, int]):
    """Our ``DINO`` vs lightly's head, loss and teacher update.

    Theirs is :class:`benchmarks.lightly_dino.LightlyDINO` (built from the
    class itself, no registry entry). Same backbone, head sizes (3-layer
    MLP, GELU, no BN, L2-normalised bottleneck, weight-normalised last layer
    with fixed norm), temperatures (student 0.1, teacher 0.04: the warm-up
    start, constant within the timed steps), centre momentum 0.9 and teacher
    momentum 0.996 -> 1.
    """
    from benchmarks.lightly_dino import LightlyDINO
    hid = proj.get('dino_hid', 2048)
    bottleneck = proj.get('dino_bottleneck', 256)
    out = proj.get('dino_out', 65536)
    pre_ours, _ = _preprocessors()
    ours = dict(
        type='DINO', base_momentum=0.996, data_preprocessor=pre_ours,
        backbone=backbone,
        neck=dict(type='DINONeck', in_channels=channels, out_channels=out,
                  hidden_channels=hid, bottleneck_channels=bottleneck,
                  num_layers=3, norm_last_layer=True),
        head=dict(type='DINOHead',
                  loss=dict(type='DINOLoss', out_channels=out,
                            student_temp=0.1, teacher_temp=0.04,
                            center_momentum=0.9)))
    theirs = dict(
        type=LightlyDINO, backbone=backbone, in_channels=channels,
        hidden_channels=hid, bottleneck_channels=bottleneck,
        out_channels=out, norm_last_layer=True, base_momentum=0.996,
        student_temp=0.1, teacher_temp=0.04, center_momentum=0.9,
        mean=MEAN, std=STD)
    return ours, theirs, lambda theirs_loss: theirs_loss


#: mmpretrain parameter names in our order, where registration orders
#: differ (SwAVNeck registers its BN before the Linear layers around it).
THEIR_ORDER = {
    ('mmpretrain.SwAVNeck', 'neck'): [
        'projection_neck.0.weight', 'projection_neck.0.bias', 'norm.weight',
        'norm.bias', 'projection_neck.3.weight', 'projection_neck.3.bias'],
}


#: The timed step's optimizer of the mmpretrain pairs.
SGD = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)


class Method(NamedTuple):
    """A benchmarked method (indexable: ``[0]`` builder, ``[1]`` views)."""
    #: (backbone, channels, projector sizes) -> (ours, theirs, to_our_scale)
    build: Callable
    #: (crop side relative to the backbone's image side, number of views)
    views: Tuple[Tuple[float, int], ...]
    #: name of the reference implementation in the results
    reference: str = 'mmpretrain'
    #: torch.optim config of both implementations' step
    optimizer: dict = SGD
    #: gradient clipping max norm in both steps (None: none)
    clip_grad: Optional[float] = None
    #: module the reference needs beyond the runtime requirements
    requires: Optional[str] = None


def make_optimizer(method: str, params) -> torch.optim.Optimizer:
    """The optimizer of ``method``'s timed step over ``params``."""
    cfg = dict(METHODS[method].optimizer)
    return getattr(torch.optim, cfg.pop('type'))(params, **cfg)


def available(method: str) -> bool:
    """Whether the reference implementation of ``method`` is installed."""
    mod = METHODS[method].requires
    return mod is None or importlib.util.find_spec(mod) is not None


#: Two views of the full side for the 2-view methods.
METHODS: Dict[str, Method] = {
    'byol': Method(byol, ((1.0, 2), )),
    'simsiam': Method(simsiam, ((1.0, 2), )),
    'barlow_twins': Method(barlow_twins, ((1.0, 2), )),
    # SwAV multi-crop 2 + 6 (224 + 96 px on ImageNet, 28 + 12 here).
    'swav': Method(swav, ((1.0, 2), (96 / 224, 6))),
    # DINO multi-crop 2 + 6 as the Fashion-MNIST config (28 + 12 px; the
    # official default is 2 x 224 + 8 x 96); the recipe's AdamW (lr 5e-4,
    # wd 0.04) and clipping at 3.0.
    'dino': Method(dino, ((1.0, 2), (96 / 224, 6)), reference='lightly',
                   optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.04),
                   clip_grad=DINO_CLIP, requires='lightly'),
}

#: Projector sizes: 'paper' (BYOL 4096/256, SimSiam 2048/512, Barlow Twins
#: 8192, DINO 2048/256/65536) and 'fmnist' (the Fashion-MNIST configs:
#: Barlow Twins 2048, DINO 1024/256/4096).
PRESETS = {'paper': {},
           'fmnist': dict(barlow_dim=2048, dino_hid=1024, dino_out=4096)}


def their_modules(dst: nn.Module, part: str):
    """The modules of ``dst`` that hold our ``part``: ``dst.<part>``, or
    the names in ``dst.PARTS[part]`` (lightly's DINO: student, then
    teacher)."""
    names = getattr(dst, 'PARTS', {}).get(part, (part, ))
    return [getattr(dst, name) for name in names]


def matched_parameters(src: nn.Module, dst: nn.Module, part: str,
                       module: Optional[nn.Module] = None):
    """Parameters of ``src.<part>`` and the matching ones of ``dst.<part>``.

    Both implementations register the same layers (our ``MLPNeck``'s
    ``mlp.0``, ``mlp.1``... are mmpretrain's ``fc0``, ``bn0``...; our
    ``DINONeck``'s ``mlp.*`` and weight-norm ``original0`` (g),
    ``original1`` (v) are lightly's ``layers.*``, ``weight_g``,
    ``weight_v``), mostly in the same order; :data:`THEIR_ORDER` lists
    mmpretrain's names where the order differs. Every pair must have the
    same shape. ``module``: which of :func:`their_modules` (default: the
    first, the trained one).
    """
    if module is None:
        module = their_modules(dst, part)[0]
    a = list(getattr(src, part).parameters())
    names = THEIR_ORDER.get((f'mmpretrain.{type(module).__name__}', part))
    if names:
        params = dict(module.named_parameters())
        b = [params[n] for n in names]
    else:
        b = list(module.parameters())
    if len(a) != len(b):
        raise ValueError(f'{part}: {len(a)} parameters in ours but '
                         f'{len(b)} in theirs')
    for i, (p, q) in enumerate(zip(a, b)):
        if p.shape != q.shape:
            raise ValueError(f'{part} parameter {i}: shape '
                             f'{tuple(p.shape)} vs {tuple(q.shape)}')
    return a, b


def copy_parameters(src: nn.Module, dst: nn.Module) -> None:
    """Copy ``src``'s backbone/neck/head parameters into ``dst``."""
    for part in ('backbone', 'neck', 'head'):
        for module in their_modules(dst, part):
            with torch.no_grad():
                for p, q in zip(*matched_parameters(src, dst, part, module)):
                    q.copy_(p)
