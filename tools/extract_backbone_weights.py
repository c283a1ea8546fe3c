"""Write the backbone of a pretraining checkpoint as a tensors-only file.

Examples::

    # online backbone, mmpretrain keys (ResNet / VisionTransformer as built)
    python tools/extract_backbone_weights.py \\
        work_dirs/byol/epoch_300.pth byol_r50.pth
    # DINO's published weights are the teacher's
    python tools/extract_backbone_weights.py dino.pth dino_vits16.pth \\
        --source teacher
    # torchvision resnet50 (fc left out: set model.fc = nn.Identity())
    python tools/extract_backbone_weights.py byol.pth byol_tv.pth \\
        --format torchvision

``--format torchvision`` refuses a backbone that is not one of torchvision's
``resnet*`` (a CIFAR stem as in ``ResNet_CIFAR`` / ``ResNet10_CIFAR``, other
widths, depths or strides) and says what differs;
``--allow-nonstandard-resnet`` writes it anyway, with a warning, for a
torchvision ResNet you modify to match.

The output loads with ``torch.load(path, weights_only=True)``. Use it in a
config with ``model.backbone.init_cfg=dict(type='Pretrained', checkpoint=OUT,
strict=True)`` (``strict`` needs the ``ssl_plugins`` scope; without it
mmengine only warns about a mismatch).
"""
import argparse
import os
import os.path as osp
import sys
import warnings

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from ssl_plugins.compat import UnsafeCheckpointError
from ssl_plugins.engine.checkpoint_io import atomic_write
from ssl_plugins.evaluation.backbone_export import (check_finite,
                                                    export_backbone,
                                                    load_checkpoint_file)
from ssl_plugins.models.utils.backbone_sources import SOURCE_PREFIXES


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract the backbone weights of a pretraining '
        'checkpoint into a tensors-only file.')
    parser.add_argument('checkpoint', help='pretraining checkpoint (.pth)')
    parser.add_argument('out', help='output file (.pth)')
    parser.add_argument(
        '--source',
        default='online',
        choices=sorted(SOURCE_PREFIXES),
        help='which backbone: online/student (keys backbone.*) or the '
        'momentum copy target/teacher (BYOL, DINO). Default: online')
    parser.add_argument(
        '--format',
        dest='fmt',
        default='mmpretrain',
        choices=['mmpretrain', 'torchvision'],
        help='key names of the consumer: mmpretrain backbone as built, or '
        'torchvision resnet* (trunk without fc; refused for a backbone that '
        'is not one of torchvision\'s ResNets). Default: mmpretrain')
    parser.add_argument(
        '--allow-nonstandard-resnet',
        action='store_true',
        help='with --format torchvision: write torchvision key names even '
        'for a ResNet torchvision does not build (e.g. a CIFAR stem), with '
        'a warning naming what differs, for a torchvision model you modify '
        'to match (conv1 3x3 stride 1, maxpool = nn.Identity(), ...)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out_dir = osp.dirname(osp.abspath(args.out))
    if osp.isdir(args.out):
        raise SystemExit(f'{args.out} is a folder; give the output file, '
                         f'e.g. {osp.join(args.out, "backbone.pth")}')
    if osp.exists(args.out) and osp.exists(args.checkpoint) and osp.samefile(
            args.out, args.checkpoint):
        raise SystemExit(f'{args.out} is the input checkpoint; writing the '
                         'backbone over it would destroy the checkpoint. '
                         'Give another output file.')
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as err:
        raise SystemExit(f'cannot create the output folder of {args.out}: '
                         f'{err}')
    try:
        checkpoint = load_checkpoint_file(args.checkpoint)
    except (FileNotFoundError, UnsafeCheckpointError, RuntimeError) as err:
        raise SystemExit(str(err))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always', UserWarning)
            weights = export_backbone(checkpoint, args.source, args.fmt,
                                      args.allow_nonstandard_resnet)
        check_finite(weights, f'the {args.source} backbone')
    except (KeyError, ValueError, TypeError) as err:
        raise SystemExit(f'{args.checkpoint}: {err.args[0]}')
    for warning in caught:
        print(f'WARNING: {args.checkpoint}: {warning.message}',
              file=sys.stderr)
    # a temporary file renamed into place: a full disk or a kill leaves an
    # existing output as it was, never a partial file under its name
    try:
        atomic_write(args.out, lambda tmp: torch.save(dict(weights), tmp))
    except (OSError, RuntimeError) as err:
        raise SystemExit(f'cannot write {args.out}: {err}')
    n_params = sum(v.numel() for v in weights.values())
    print(f'wrote {len(weights)} tensors ({n_params / 1e6:.2f}M values) of '
          f'the {args.source} backbone in {args.fmt} format to {args.out}')


if __name__ == '__main__':
    main()
