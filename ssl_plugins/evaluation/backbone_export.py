"""Take a backbone's weights out of a pretraining checkpoint.

A pretraining checkpoint of ``ssl_plugins`` (mmengine layout, as mmselfsup's)
holds the whole algorithm under ``state_dict``: the online/student backbone as
``backbone.*``, necks and heads, and for BYOL/DINO a momentum copy of the
backbone. Which prefix each *source* lives under is
:mod:`ssl_plugins.models.utils.backbone_sources` (``SOURCE_PREFIXES``,
``backbone_state_dict``); here, :func:`export_backbone` writes one backbone
and the ``*_to_*`` functions turn mmpretrain ``ResNet`` keys into torchvision
``resnet*`` keys and back.

Everything here is pure (dicts of tensors in, dicts of tensors out) except
:func:`load_checkpoint_file`.

The torchvision format is written only for a backbone that *is* one of
torchvision's ``resnet*`` (:func:`torchvision_resnet_differences`): same
tensor names and shapes as the builder of the same depth, and, when the
checkpoint carries its config (mmengine's ``meta['cfg']``), no argument that
the weights cannot show (``strides``, ``dilations``, ``style``, a CIFAR
stem's missing max-pool). A CIFAR-stem ResNet (mmpretrain ``ResNet_CIFAR``,
our ``ResNet10_CIFAR``) is refused with what differs, unless asked for
(``allow_nonstandard=True``) for a modified torchvision model.

Which ``prefix`` to give ``init_cfg=dict(type='Pretrained', checkpoint=...)``
in an mmpretrain config (ours or mmpretrain's own, e.g. its linear-evaluation
benchmarks):

* a full pretraining checkpoint (``epoch_N.pth``): ``prefix='backbone.'`` for
  the online / student backbone (mmpretrain's shipped linear-evaluation
  configs set exactly this), ``prefix='target.backbone.'`` for BYOL's target
  or DINO's teacher. Without a prefix no key matches the backbone and
  mmengine only warns (our scope's ``strict=True`` raises);
* an exported backbone (:func:`export_backbone`,
  ``tools/extract_backbone_weights.py``; keys ``conv1.weight``, ...): no
  prefix (``prefix=None``, e.g. ``--cfg-options
  model.backbone.init_cfg.prefix=None`` when the config sets one); with
  ``prefix='backbone.'`` mmengine stops with "backbone. is not in the
  pretrained model".

Both files load with ``torch.load(weights_only=True)`` in a process that
never imports ``ssl_plugins`` (docs/compat.md, "Plain checkpoints").
"""
import ast
import re
import warnings
from collections import OrderedDict
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from ssl_plugins.models.utils.backbone_sources import (backbone_state_dict,
                                                       model_state_dict)
from ssl_plugins.models.utils.pretrained_init import load_state_dict_exactly
from ssl_plugins.models.utils.state_dict_diff import state_dict_differences


def load_checkpoint_file(path: str) -> dict:
    """Load a checkpoint on CPU without unpickling arbitrary code.

    Goes through :func:`ssl_plugins.compat.safe_torch_load`:
    ``weights_only=True`` plus the few data-only classes mmengine writes;
    anything else raises ``UnsafeCheckpointError`` unless the file is trusted
    through ``SSL_PLUGINS_TRUSTED_CHECKPOINTS``.

    Args:
        path (str): File to read.

    Returns:
        dict: What the file holds.
    """
    import os.path as osp

    from ssl_plugins.compat import safe_torch_load
    from ssl_plugins.engine.checkpoint_io import (CHECKSUM_SUFFIX,
                                                  verify_checkpoint)
    if osp.isdir(path):
        raise FileNotFoundError(
            f'Checkpoint {path} is a folder; give a checkpoint file in it '
            '(e.g. epoch_N.pth; its last_checkpoint names the newest)')
    if osp.isfile(path + CHECKSUM_SUFFIX):  # written by AtomicCheckpointHook
        ok, reason = verify_checkpoint(path)
        if not ok:
            raise RuntimeError(f'Checkpoint {path} failed its check: {reason}')
    return safe_torch_load(path, map_location='cpu')


def check_finite(state_dict: Mapping[str, torch.Tensor], what: str) -> None:
    """Raise ``ValueError`` naming the tensors of ``state_dict`` that hold a
    NaN or an infinity (a diverged run or a corrupt file): every feature
    computed from them is NaN and every score a meaningless number."""
    from ssl_plugins.engine.checkpoint_io import nonfinite_entries
    bad = nonfinite_entries(dict(state_dict))
    if bad:
        raise ValueError(
            f'{what}: tensors hold NaN or inf values ({", ".join(bad)}'
            f'{", ..." if len(bad) == 5 else ""}): the run diverged or the '
            'file is corrupt; take an earlier checkpoint')


def _check_plain_resnet(keys: Sequence[str], what: str) -> None:
    if not any(k.startswith('layer1.0.') for k in keys):
        raise ValueError(
            f'{what}: not a ResNet state dict (no layer1.0.* keys); the '
            'torchvision format exists for ResNet backbones only, use '
            '--format mmpretrain for other backbones')
    if any(k.startswith('stem.') for k in keys):
        raise ValueError(
            f'{what}: deep-stem ResNet (stem.* keys, ResNetV1c/V1d) has no '
            'torchvision counterpart')
    # avg_down puts an AvgPool first: downsample.{1,2} instead of {0,1}
    if any('.downsample.2.' in k for k in keys):
        raise ValueError(
            f'{what}: ResNet with avg_down=True (downsample.2.* keys) has no '
            'torchvision counterpart')


#: torchvision's ResNet builders: name -> (block, blocks per stage)
TORCHVISION_RESNETS: Dict[str, Tuple[str, Tuple[int, ...]]] = OrderedDict(
    resnet18=('BasicBlock', (2, 2, 2, 2)),
    resnet34=('BasicBlock', (3, 4, 6, 3)),
    resnet50=('Bottleneck', (3, 4, 6, 3)),
    resnet101=('Bottleneck', (3, 4, 23, 3)),
    resnet152=('Bottleneck', (3, 8, 36, 3)),
    resnext50_32x4d=('Bottleneck', (3, 4, 6, 3)),
    resnext101_32x8d=('Bottleneck', (3, 4, 23, 3)),
    resnext101_64x4d=('Bottleneck', (3, 4, 23, 3)),
    wide_resnet50_2=('Bottleneck', (3, 4, 6, 3)),
    wide_resnet101_2=('Bottleneck', (3, 4, 23, 3)),
)

#: backbone types (config ``type``) that never are a torchvision ResNet
_NON_TORCHVISION_TYPES: Dict[str, str] = {
    'ResNet_CIFAR': 'CIFAR stem: 3x3 stride-1 conv1 and no max-pool',
    'ResNet10_CIFAR': 'CIFAR stem: 3x3 stride-1 conv1 and no max-pool, one '
    'block per stage',
    'ResNetV1c': 'deep stem of three 3x3 convolutions',
    'ResNetV1d': 'deep stem and average-pool shortcuts',
}

#: ResNet arguments the weights do not show -> torchvision's value
_TORCHVISION_ARGS: Dict[str, Any] = {
    'strides': (1, 2, 2, 2),
    'dilations': (1, 1, 1, 1),
    'style': 'pytorch',
    'deep_stem': False,
    'avg_down': False,
}

_UNKNOWN = object()  # a config value that is not a literal


def _config_literal(node: ast.AST) -> Any:
    """A config expression as data, without executing anything."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == 'dict' and not node.args):
        return {
            kw.arg: _config_literal(kw.value)
            for kw in node.keywords if kw.arg is not None
        }
    if isinstance(node, ast.Dict):
        return {
            k.value: _config_literal(v)
            for k, v in zip(node.keys, node.values)
            if isinstance(k, ast.Constant) and isinstance(k.value, str)
        }
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_config_literal(e) for e in node.elts)
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return _UNKNOWN


def checkpoint_backbone_cfg(checkpoint: Mapping) -> Optional[dict]:
    """``model.backbone`` of the config saved in an mmengine checkpoint.

    mmengine's ``Runner`` stores its config as text in ``meta['cfg']``. The
    text is parsed, never executed (a checkpoint is untrusted input): only
    literal values are read; others come back as an opaque placeholder.

    Args:
        checkpoint (Mapping): A loaded checkpoint.

    Returns:
        dict, optional: The backbone's config, or ``None`` when the
        checkpoint carries no readable config.
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
    text = meta.get('cfg') if isinstance(meta, Mapping) else None
    if not isinstance(text, str):
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    model = None
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and stmt.targets[0].id == 'model'):
            model = _config_literal(stmt.value)
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if isinstance(backbone, dict) and isinstance(backbone.get('type'), str):
        return backbone
    return None


def _resnet_layout(keys: Sequence[str]) -> Tuple[str, Tuple[int, ...]]:
    """(block type, number of blocks in layer1..layer4) of ResNet keys."""
    blocks = {i: set() for i in range(1, 5)}
    bottleneck = False
    for key in keys:
        match = re.match(r'layer([1-4])\.(\d+)\.(\w+)', key)
        if match:
            blocks[int(match.group(1))].add(int(match.group(2)))
            bottleneck |= match.group(3) in ('conv3', 'bn3')
    return ('Bottleneck' if bottleneck else 'BasicBlock',
            tuple(len(blocks[i]) for i in range(1, 5)))


@lru_cache(maxsize=None)
def _torchvision_shapes(name: str) -> Dict[str, Tuple[int, ...]]:
    """Tensor shapes of a torchvision ResNet trunk (built on the meta
    device: no memory, no initialisation cost)."""
    import torchvision.models
    with torch.device('meta'):
        model = getattr(torchvision.models, name)()
    return {
        k: tuple(v.shape)
        for k, v in model.state_dict().items() if not k.startswith('fc.')
    }


def _shape_differences(state_dict: Mapping[str, torch.Tensor], name: str,
                       skip: Sequence[str]) -> List[str]:
    diff = state_dict_differences(_torchvision_shapes(name), state_dict, skip)
    out = []
    if diff.missing:
        out.append(f'{len(diff.missing)} tensors of torchvision {name} are '
                   f'missing, e.g. {diff.missing[:3]}')
    if diff.unexpected:
        out.append(f'{len(diff.unexpected)} tensors are not in torchvision '
                   f'{name}, e.g. {diff.unexpected[:3]}')
    if diff.reshaped:
        shown = ', '.join(f'{k} {a} vs {b}' for k, a, b in diff.reshaped[:3])
        out.append(f'{len(diff.reshaped)} tensors have other shapes than in '
                   f'torchvision {name} (other widths), e.g. {shown}')
    return out


def torchvision_resnet_differences(
        state_dict: Mapping[str, torch.Tensor],
        backbone_cfg: Optional[Mapping] = None
) -> Tuple[Optional[str], List[str]]:
    """Does a ResNet state dict fit one of torchvision's ``resnet*``?

    The tensors must have the names and shapes of a torchvision builder
    (:data:`TORCHVISION_RESNETS`, ``fc`` excepted) with the same block type
    and number of blocks per stage. Shapes cannot show a stride or a missing
    max-pool, so when the config is known (:func:`checkpoint_backbone_cfg`)
    its ``type`` and its ``strides``, ``dilations``, ``style``, ``deep_stem``
    and ``avg_down`` must be torchvision's too.

    Args:
        state_dict (Mapping[str, torch.Tensor]): Backbone-relative keys.
        backbone_cfg (Mapping, optional): The backbone's config.

    Returns:
        tuple: ``(name, differences)``: the matching builder (``None`` when
        there is a difference) and one readable line per difference (empty
        when it matches).
    """
    differences = []
    if backbone_cfg is not None:
        type_name = str(backbone_cfg.get('type')).split('.')[-1]
        if type_name in _NON_TORCHVISION_TYPES:
            differences.append(
                f'the checkpoint\'s config builds '
                f'{type_name} ({_NON_TORCHVISION_TYPES[type_name]})')
        for arg, value in _TORCHVISION_ARGS.items():
            got = backbone_cfg.get(arg, value)
            if got is _UNKNOWN or (isinstance(got, tuple) and _UNKNOWN in got):
                continue
            if isinstance(value, tuple) and isinstance(got, (tuple, list)):
                got = tuple(got)
            if got != value:
                differences.append(f'the checkpoint\'s config sets {arg}='
                                   f'{got!r} (torchvision: {value!r})')
    skip = []
    conv1 = state_dict.get('conv1.weight')
    if conv1 is not None and conv1.dim() == 4 and tuple(
            conv1.shape[-2:]) != (7, 7):
        skip.append('conv1.weight')
        differences.append(
            f'conv1 is a {conv1.shape[-2]}x{conv1.shape[-1]} convolution, a '
            'CIFAR stem (mmpretrain ResNet_CIFAR, ssl_plugins ResNet10_CIFAR: '
            'stride 1 and no max-pool); torchvision\'s is 7x7 with stride 2, '
            'followed by a 3x3 max-pool')
    block, counts = _resnet_layout(list(state_dict))
    candidates = [
        name for name, layout in TORCHVISION_RESNETS.items()
        if layout == (block, counts)
    ]
    if not candidates:
        known = ', '.join(f'{name} {layout[1]}'
                          for name, layout in TORCHVISION_RESNETS.items()
                          if layout[0] == block and name.startswith('resnet'))
        differences.append(f'{block} stages of {counts} blocks: '
                           f'torchvision\'s {block} ResNets have {known}')
        return None, differences
    best = None
    for name in candidates:
        found = _shape_differences(state_dict, name, skip)
        if not found:
            return (None, differences) if differences else (name, [])
        if best is None or len(found) < len(best):
            best = found
    return None, differences + best


def mmpretrain_resnet_to_torchvision(
        state_dict: Mapping[str, torch.Tensor],
        backbone_cfg: Optional[Mapping] = None,
        allow_nonstandard: bool = False,
        check_architecture: bool = True) -> 'OrderedDict[str, torch.Tensor]':
    """mmpretrain ``ResNet`` keys -> torchvision ``resnet*`` trunk keys.

    mmpretrain names its layers exactly like torchvision (``conv1``, ``bn1``,
    ``layer{1-4}.{i}.conv{1-3}/bn{1-3}``, ``downsample.{0,1}``) as long as the
    stem is the plain 7x7 convolution and ``avg_down`` is off; anything else
    has no torchvision counterpart and raises. The result has no ``fc.*``:
    load it into a torchvision model whose ``fc`` is ``nn.Identity()`` with
    ``strict=True``, or into a stock one with ``strict=False`` where exactly
    ``fc.weight``/``fc.bias`` are missing (Barlow Twins' evaluate.py does so).

    Same names are not same architecture: a CIFAR-stem ResNet
    (``ResNet_CIFAR``, ``ResNet10_CIFAR``), other widths or depths, or
    strides other than torchvision's would give a file that
    ``torchvision.models.resnet*`` refuses (size mismatch) or, worse, loads
    and computes something else. Such a backbone is refused, naming what
    differs (:func:`torchvision_resnet_differences`).

    Args:
        state_dict (Mapping[str, torch.Tensor]): Backbone-relative keys.
        backbone_cfg (Mapping, optional): The backbone's config, when known
            (:func:`checkpoint_backbone_cfg`), to check what the weights do
            not show.
        allow_nonstandard (bool): Write torchvision names anyway and only
            warn (``UserWarning``), for a torchvision model modified to match
            (e.g. ``conv1 = nn.Conv2d(3, C, 3, 1, 1, bias=False)`` and
            ``maxpool = nn.Identity()`` for a CIFAR stem). Default: False.
        check_architecture (bool): Compare with torchvision's builders at
            all. Default: True.

    Returns:
        OrderedDict[str, torch.Tensor]: torchvision keys.

    Raises:
        ValueError: Not a plain ResNet, or (unless ``allow_nonstandard``)
            not one of torchvision's.
    """
    _check_plain_resnet(list(state_dict), 'mmpretrain -> torchvision')
    out = OrderedDict()
    for key, value in state_dict.items():
        if not key.startswith(('conv1.', 'bn1.', 'layer1.', 'layer2.',
                               'layer3.', 'layer4.')):
            raise ValueError(f'mmpretrain -> torchvision: unexpected key '
                             f'{key!r} for a torchvision ResNet')
        out[key] = value
    if not check_architecture:
        return out
    _, differences = torchvision_resnet_differences(out, backbone_cfg)
    if differences:
        listed = ''.join(f'\n  - {d}' for d in differences)
        if not allow_nonstandard:
            raise ValueError(
                'this backbone is not one of torchvision\'s ResNets, '
                'torchvision.models.resnet* cannot load it (or would '
                f'compute something else):{listed}\nExport it with '
                '--format mmpretrain (load it into the mmpretrain backbone '
                'it came from), or, for a torchvision ResNet that you modify '
                'to match, pass allow_nonstandard=True '
                '(--allow-nonstandard-resnet of '
                'tools/extract_backbone_weights.py).')
        warnings.warn(
            'torchvision key names written for a backbone that is NOT one '
            'of torchvision\'s ResNets; a stock torchvision.models.resnet* '
            f'will not load it or compute the same:{listed}',
            UserWarning,
            stacklevel=2)
    return out


def torchvision_resnet_to_mmpretrain(
    state_dict: Mapping[str,
                        torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """torchvision ``resnet*`` keys -> mmpretrain ``ResNet`` keys.

    The inverse of :func:`mmpretrain_resnet_to_torchvision`: the layer names
    are shared, the classifier ``fc.*`` is dropped (mmpretrain's ResNet is a
    trunk; the classifier lives in a head).

    Args:
        state_dict (Mapping[str, torch.Tensor]): torchvision keys.

    Returns:
        OrderedDict[str, torch.Tensor]: mmpretrain ``ResNet`` keys.
    """
    trunk = OrderedDict(
        (k, v) for k, v in state_dict.items() if not k.startswith('fc.'))
    # names only: a modified torchvision ResNet (a CIFAR stem) is fine here
    return mmpretrain_resnet_to_torchvision(trunk, check_architecture=False)


def export_backbone(
        checkpoint: Mapping,
        source: str = 'online',
        fmt: str = 'mmpretrain',
        allow_nonstandard: bool = False) -> 'OrderedDict[str, torch.Tensor]':
    """Checkpoint -> backbone weights in the requested format.

    Args:
        checkpoint (Mapping): Loaded checkpoint (or bare state dict).
        source (str): Which backbone: ``'online'``, ``'student'``,
            ``'target'`` or ``'teacher'`` (``backbone_sources``).
        fmt (str): ``'mmpretrain'`` (keys of mmpretrain's ``ResNet`` /
            ``VisionTransformer`` / any backbone as built) or
            ``'torchvision'`` (ResNet only, and only one of torchvision's
            architectures: see :func:`mmpretrain_resnet_to_torchvision`).
        allow_nonstandard (bool): ``'torchvision'`` format only: write
            torchvision names for another ResNet (a CIFAR stem, other
            widths) with a warning instead of refusing. Default: False.

    Returns:
        OrderedDict[str, torch.Tensor]: Tensors only, ready for
        ``torch.save`` and ``torch.load(weights_only=True)``.

    Raises:
        KeyError: No such source in the checkpoint.
        ValueError: Unknown format, or a backbone torchvision's ResNets
            cannot load (the message lists what differs).
    """
    backbone = backbone_state_dict(model_state_dict(checkpoint), source)
    if fmt == 'mmpretrain':
        return backbone
    if fmt == 'torchvision':
        return mmpretrain_resnet_to_torchvision(
            backbone,
            backbone_cfg=checkpoint_backbone_cfg(checkpoint),
            allow_nonstandard=allow_nonstandard)
    raise ValueError(f"unknown format {fmt!r}; choose 'mmpretrain' or "
                     "'torchvision'")


def load_backbone_weights(backbone: torch.nn.Module,
                          checkpoint: str,
                          source: str = 'online') -> None:
    """Load one backbone of a checkpoint file into ``backbone``, strictly.

    Args:
        backbone (nn.Module): Built from the same config as the checkpoint.
        checkpoint (str): Pretraining checkpoint or an exported backbone
            file (keys without prefix, from ``extract_backbone_weights.py``).
        source (str): As for :func:`export_backbone`; ignored for an
            exported file.

    Raises:
        KeyError: The source is missing, or the weights do not fit
            (``CheckpointMismatchError``: missing and unexpected keys and
            size mismatches listed, with the file name).
    """
    state = model_state_dict(load_checkpoint_file(checkpoint))
    own = set(backbone.state_dict())
    if own and own.issubset(state):  # an exported, prefix-less backbone
        weights = OrderedDict((k, state[k]) for k in backbone.state_dict())
    else:
        try:
            weights = backbone_state_dict(state, source)
        except KeyError as err:
            raise KeyError(f'{checkpoint}: {err.args[0]}') from None
    check_finite(weights, f'{checkpoint} ({source} backbone)')
    load_state_dict_exactly(backbone, weights,
                            f'{checkpoint} ({source} backbone)')
