#!/usr/bin/env python
"""Class-token attention maps of a ViT's last block over an image (DINO).

Saves, in --out DIR: ``image.png`` (the resized input), ``attn-head{i}.png``
for every head and ``attn-mean.png`` (their mean), each a heat map blended
over the image, plus ``attn-heads.png`` with all of them side by side; with
--threshold, also ``mask-head{i}.png`` keeping the patches that hold that
fraction of the attention mass (DINO paper Fig. 3, visualize_attention.py).

Example::

    python tools/visualize_attention.py configs/dino/dino_vit-s16_in1k.py \\
        work_dirs/dino/epoch_100.pth demo/cat.jpg --out attn/ --source teacher
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction

import ssl_plugins  # noqa: F401  (applies the upstream fixes)
from ssl_plugins.evaluation.backbone_export import load_backbone_weights
from ssl_plugins.models.utils.backbone_sources import SOURCE_PREFIXES
from ssl_plugins.utils.cli import existing_file, fraction, positive_int

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Save the last-block class-token attention of a ViT '
        'backbone over an image, per head and averaged (DINO Fig. 1/3).')
    parser.add_argument('config', type=existing_file,
                        help='config whose model.backbone is a ViT')
    parser.add_argument('checkpoint',
                        help='pretraining checkpoint or '
                        'exported backbone file')
    parser.add_argument('image', help='image file (any format PIL reads)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--source',
                        default='teacher',
                        choices=sorted(SOURCE_PREFIXES),
                        help='which backbone (default: teacher, as DINO)')
    parser.add_argument('--image-size',
                        type=positive_int,
                        nargs='+',
                        default=[480],
                        help='resize to S (square) or H W before cropping '
                        'to a multiple of the patch size (DINO: 480)')
    parser.add_argument('--threshold',
                        type=fraction,
                        default=None,
                        help='also save masks keeping this fraction of the '
                        'attention mass (DINO: 0.6)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options',
                        nargs='+',
                        action=DictAction,
                        help='override config entries (key=value)')
    return parser.parse_args(argv)


#: what :func:`require_vit` accepts, for its error message
SUPPORTED = ("ViT backbones with a class token: mmpretrain's "
             'VisionTransformer (the DINO ViT configs) or a subclass keeping '
             'its patch_embed convolution and its blocks\' multi-head '
             'attention with a fused qkv projection')


def require_vit(backbone, type_name: str, where: str) -> None:
    """Check that ``backbone`` is a ViT this tool can read attention from.

    Args:
        backbone (nn.Module): The built backbone.
        type_name (str): Its config ``type``, for the message.
        where (str): The config file, for the message.

    Raises:
        TypeError: Not a ViT (a ResNet, say) or one without class token;
            the message names the backbone type and what is supported.
    """
    from ssl_plugins.evaluation.attention import find_last_attention
    name = type(backbone).__name__
    reason = None
    if not hasattr(backbone, 'layers'):
        reason = f'{name} has no transformer blocks (`layers`)'
    else:
        try:
            find_last_attention(backbone)
        except TypeError as err:
            reason = str(err)
    if reason is None and not getattr(
            getattr(getattr(backbone, 'patch_embed', None), 'projection',
                    None), 'stride', None):
        reason = f'{name} has no patch_embed.projection convolution'
    if reason is None and getattr(backbone, 'cls_token', None) is None:
        reason = (f'{name} was built with with_cls_token=False: there is no '
                  'class-token row to show')
    if reason is not None:
        raise TypeError(
            f'{where}: model.backbone.type is {type_name!r}: no ViT attention '
            f'to show ({reason}). This tool supports {SUPPORTED}. For a '
            'convolutional backbone such as a ResNet, use '
            'tools/analysis/visualize_tsne.py or tools/knn_eval.py.')


def build_vit(cfg, checkpoint, source, device):
    """Build the config's backbone, check it is a ViT, load its weights.

    Args:
        cfg (Config): Config whose ``model.backbone`` is a ViT.
        checkpoint (str): Pretraining checkpoint or exported backbone.
        source (str): Which backbone, see ``SOURCE_PREFIXES``.
        device (str): Where to put it.

    Returns:
        nn.Module: The backbone in eval mode.

    Raises:
        KeyError: No ``model.backbone``, or the weights do not fit.
        TypeError: The backbone is not a supported ViT (see
            :func:`require_vit`); raised before the checkpoint is read.
    """
    from mmengine.registry import init_default_scope

    from ssl_plugins.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'ssl_plugins'))
    backbone_cfg = cfg.model.get('backbone', None)
    if backbone_cfg is None:
        raise KeyError(f'{cfg.filename}: model.backbone is missing')
    backbone = MODELS.build(backbone_cfg)
    type_name = backbone_cfg.get('type', type(backbone).__name__)
    if not isinstance(type_name, str):  # a class given in a python config
        type_name = getattr(type_name, '__name__', str(type_name))
    require_vit(backbone, type_name, cfg.filename)
    load_backbone_weights(backbone, checkpoint, source)
    backbone.to(device)
    backbone.eval()  # mmpretrain's ViT.train() returns None: no chaining
    return backbone


def load_image(path, size, patch):
    from PIL import Image
    if not osp.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    img = Image.open(path).convert('RGB')
    h, w = (size[0], size[0]) if len(size) == 1 else size[:2]
    img = img.resize((w, h), Image.BICUBIC)
    h, w = h - h % patch, w - w % patch
    if h == 0 or w == 0:
        raise ValueError(f'--image-size {size} is smaller than the patch '
                         f'size {patch}')
    return np.asarray(img)[:h, :w]


def normalise(rgb, cfg, device):
    pre = cfg.model.get('data_preprocessor', None) or {}
    mean = torch.tensor(pre.get('mean', IMAGENET_MEAN)).view(3, 1, 1)
    std = torch.tensor(pre.get('std', IMAGENET_STD)).view(3, 1, 1)
    x = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float()
    return ((x - mean) / std).unsqueeze(0).to(device)


def mass_mask(attn, fraction):
    """Keep the highest patches holding ``fraction`` of each map's mass."""
    flat = attn.flatten(1)
    flat = flat / flat.sum(1, keepdim=True)
    values, idx = flat.sort(dim=1)
    keep_sorted = values.cumsum(1) > (1 - fraction)
    keep = torch.zeros_like(keep_sorted)
    keep.scatter_(1, idx, keep_sorted)
    return keep.view_as(attn)


def overlay(rgb, heat, cmap='inferno', alpha=0.6):
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import colormaps
    heat = heat - heat.min()
    heat = heat / max(float(heat.max()), 1e-12)
    colour = colormaps[cmap](heat)[..., :3]
    return ((1 - alpha) * rgb / 255.0 + alpha * colour).clip(0, 1)


def main(argv=None):
    args = parse_args(argv)
    import matplotlib
    from mmengine.utils import ProgressBar
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from ssl_plugins.evaluation.attention import last_block_cls_attention

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        vit = build_vit(cfg, args.checkpoint, args.source, args.device)
    except (KeyError, TypeError, ValueError) as err:
        raise SystemExit(str(err.args[0]))
    except (OSError, RuntimeError) as err:  # missing, corrupt, unsafe
        raise SystemExit(str(err))
    patch = int(vit.patch_embed.projection.stride[0])
    rgb = load_image(args.image, args.image_size, patch)
    maps, (h, w) = last_block_cls_attention(vit,
                                            normalise(rgb, cfg, args.device))
    maps = maps[0].float().cpu()  # heads x h x w
    up = F.interpolate(maps[None], scale_factor=patch, mode='nearest')[0]
    mean = up.mean(0)
    os.makedirs(args.out, exist_ok=True)
    plt.imsave(osp.join(args.out, 'image.png'), rgb)
    names = [f'head{i}' for i in range(up.shape[0])] + ['mean']
    images = list(up.numpy()) + [mean.numpy()]
    bar = ProgressBar(len(images))
    written = []
    for name, heat in zip(names, images):
        path = osp.join(args.out, f'attn-{name}.png')
        plt.imsave(path, overlay(rgb, heat))
        written.append(path)
        bar.update()
    if args.threshold is not None:
        masks = mass_mask(torch.cat([maps, maps.mean(0, keepdim=True)]),
                          args.threshold)
        masks = F.interpolate(masks[None].float(),
                              scale_factor=patch,
                              mode='nearest')[0].numpy()
        for name, mask in zip(names, masks):
            path = osp.join(args.out, f'mask-{name}.png')
            plt.imsave(path, (rgb * mask[..., None]).astype(np.uint8))
            written.append(path)
    fig, axes = plt.subplots(1,
                             len(images),
                             squeeze=False,
                             figsize=(2.2 * len(images), 2.4))
    for ax, name, heat in zip(axes[0], names, images):
        ax.imshow(overlay(rgb, heat))
        ax.set_title(name, fontsize=8)
        ax.axis('off')
    fig.tight_layout()
    grid = osp.join(args.out, 'attn-heads.png')
    fig.savefig(grid, dpi=100)
    plt.close(fig)
    written.append(grid)
    print(f'\n{len(written)} PNGs ({maps.shape[0]} heads, {h}x{w} patches) '
          f'written to {args.out}')
    return written


if __name__ == '__main__':
    main()
