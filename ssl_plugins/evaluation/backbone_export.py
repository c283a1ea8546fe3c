"""Take a backbone's weights out of a pretraining checkpoint.

A pretraining checkpoint of ``ssl_plugins`` (mmengine layout, as mmselfsup's)
holds the whole algorithm under ``state_dict``: the online/student backbone as
``backbone.*``, necks and heads, and for BYOL/DINO a momentum copy of the
backbone. :data:`SOURCE_PREFIXES` says under which prefix each *source* lives;
:func:`backbone_state_dict` strips it, and the ``*_to_*`` functions turn
mmpretrain ``ResNet`` keys into torchvision ``resnet*`` keys and back.

Everything here is pure (dicts of tensors in, dicts of tensors out) except
:func:`load_checkpoint_file`.
"""
from collections import OrderedDict
from typing import Dict, Mapping, Sequence, Tuple

import torch

#: source -> candidate key prefixes, tried in order. The online network of
#: every algorithm is ``backbone.`` (mmselfsup layout); DINO calls it the
#: student. The momentum copies are the target (BYOL) / teacher (DINO).
SOURCE_PREFIXES: Dict[str, Tuple[str, ...]] = {
    'online': ('backbone.', ),
    'student': ('backbone.', ),
    'target': ('target.backbone.', 'target_net.module.0.', 'target_net.0.'),
    'teacher':
    ('teacher.backbone.', 'target.backbone.', 'teacher.module.backbone.'),
}

#: Top-level prefixes a wrapper may add in front of every key.
_WRAPPER_PREFIXES = ('module.', )


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
    from ssl_plugins.compat import safe_torch_load
    return safe_torch_load(path, map_location='cpu')


def model_state_dict(checkpoint: Mapping) -> 'OrderedDict[str, torch.Tensor]':
    """The model's state dict of a checkpoint, without a DDP ``module.``.

    Args:
        checkpoint (Mapping): Either an mmengine checkpoint (with a
            ``state_dict`` key) or a bare state dict.

    Returns:
        OrderedDict[str, torch.Tensor]: Tensor entries only.
    """
    if not isinstance(checkpoint, Mapping):
        raise TypeError('expected a checkpoint dict, got '
                        f'{type(checkpoint).__name__}')
    state = checkpoint.get('state_dict', checkpoint)
    out = OrderedDict()
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            continue
        for wrapper in _WRAPPER_PREFIXES:
            if key.startswith(wrapper):
                key = key[len(wrapper):]
                break
        out[key] = value
    return out


def backbone_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    source: str = 'online',
    prefixes: Dict[str, Tuple[str, ...]] = None
) -> 'OrderedDict[str, torch.Tensor]':
    """Keys of one backbone, with their prefix removed.

    Args:
        state_dict (Mapping[str, torch.Tensor]): Full model state dict
            (see :func:`model_state_dict`).
        source (str): ``'online'``, ``'student'``, ``'target'`` or
            ``'teacher'`` (see :data:`SOURCE_PREFIXES`).
        prefixes (dict, optional): Replaces :data:`SOURCE_PREFIXES`.

    Returns:
        OrderedDict[str, torch.Tensor]: Backbone-relative keys (``conv1.weight``
        ...), tensors cloned and contiguous so that saving them writes only
        the backbone.

    Raises:
        KeyError: Unknown source, or none of its prefixes is present (the
            message lists what the checkpoint holds).
    """
    table = SOURCE_PREFIXES if prefixes is None else prefixes
    if source not in table:
        raise KeyError(f'unknown source {source!r}; choose one of '
                       f'{sorted(table)}')
    for prefix in table[source]:
        picked = OrderedDict((k[len(prefix):], v.detach().clone().contiguous())
                             for k, v in state_dict.items()
                             if k.startswith(prefix))
        if picked:
            return picked
    # imported here: ssl_plugins.models pulls in mmpretrain's models
    from ssl_plugins.models.utils.pretrained_init import \
        summarize_key_prefixes
    raise KeyError(
        f'no {source!r} backbone in this checkpoint: none of the prefixes '
        f'{list(table[source])} is present. It holds: '
        f'{summarize_key_prefixes(state_dict)}')


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


def mmpretrain_resnet_to_torchvision(
    state_dict: Mapping[str,
                        torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """mmpretrain ``ResNet`` keys -> torchvision ``resnet*`` trunk keys.

    mmpretrain names its layers exactly like torchvision (``conv1``, ``bn1``,
    ``layer{1-4}.{i}.conv{1-3}/bn{1-3}``, ``downsample.{0,1}``) as long as the
    stem is the plain 7x7 convolution and ``avg_down`` is off; anything else
    has no torchvision counterpart and raises. The result has no ``fc.*``:
    load it into a torchvision model whose ``fc`` is ``nn.Identity()`` with
    ``strict=True``, or into a stock one with ``strict=False`` where exactly
    ``fc.weight``/``fc.bias`` are missing (Barlow Twins' evaluate.py does so).

    Args:
        state_dict (Mapping[str, torch.Tensor]): Backbone-relative keys.

    Returns:
        OrderedDict[str, torch.Tensor]: torchvision keys.
    """
    _check_plain_resnet(list(state_dict), 'mmpretrain -> torchvision')
    out = OrderedDict()
    for key, value in state_dict.items():
        if not key.startswith(
            ('conv1.', 'bn1.', 'layer1.', 'layer2.', 'layer3.', 'layer4.')):
            raise ValueError(f'mmpretrain -> torchvision: unexpected key '
                             f'{key!r} for a torchvision ResNet')
        out[key] = value
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
    return mmpretrain_resnet_to_torchvision(trunk)


def export_backbone(
        checkpoint: Mapping,
        source: str = 'online',
        fmt: str = 'mmpretrain') -> 'OrderedDict[str, torch.Tensor]':
    """Checkpoint -> backbone weights in the requested format.

    Args:
        checkpoint (Mapping): Loaded checkpoint (or bare state dict).
        source (str): Which backbone, see :data:`SOURCE_PREFIXES`.
        fmt (str): ``'mmpretrain'`` (keys of mmpretrain's ``ResNet`` /
            ``VisionTransformer`` / any backbone as built) or
            ``'torchvision'`` (ResNet only).

    Returns:
        OrderedDict[str, torch.Tensor]: Tensors only, ready for
        ``torch.save`` and ``torch.load(weights_only=True)``.
    """
    backbone = backbone_state_dict(model_state_dict(checkpoint), source)
    if fmt == 'mmpretrain':
        return backbone
    if fmt == 'torchvision':
        return mmpretrain_resnet_to_torchvision(backbone)
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
        source (str): See :data:`SOURCE_PREFIXES`; ignored for an exported
            file.

    Raises:
        KeyError: The source is missing, or the weights do not fit
            (``CheckpointMismatchError``: missing and unexpected keys and
            size mismatches listed, with the file name).
    """
    from ssl_plugins.models.utils.pretrained_init import \
        load_state_dict_exactly
    state = model_state_dict(load_checkpoint_file(checkpoint))
    own = set(backbone.state_dict())
    if own and own.issubset(state):  # an exported, prefix-less backbone
        weights = OrderedDict((k, state[k]) for k in backbone.state_dict())
    else:
        try:
            weights = backbone_state_dict(state, source)
        except KeyError as err:
            raise KeyError(f'{checkpoint}: {err.args[0]}') from None
    load_state_dict_exactly(backbone, weights,
                            f'{checkpoint} ({source} backbone)')
