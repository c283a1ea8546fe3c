#!/usr/bin/env python
"""t-SNE of backbone features, coloured by label.

Features: the same as the kNN evaluation (``cfg.knn_eval`` splits, backbone in
eval mode, global-average-pooled last stage, L2-normalised). The map is
computed by scikit-learn's ``TSNE`` when it is installed, otherwise by the
exact t-SNE of ``ssl_plugins.evaluation.tsne`` (fine up to a few thousand
points).

Example::

    python tools/analysis/visualize_tsne.py \\
        configs/byol/byol_resnet18_fmnist.py \\
        work_dirs/byol_fmnist/epoch_10.pth --max-samples 2000 --out tsne.png
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import torch
from mmengine.config import Config, DictAction

import ssl_plugins  # noqa: F401  (applies the upstream fixes)
from ssl_plugins.evaluation.backbone_export import load_backbone_weights
from ssl_plugins.models.utils.backbone_sources import SOURCE_PREFIXES
from ssl_plugins.utils.cli import existing_file, positive_int


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw a t-SNE of backbone features coloured by label.')
    parser.add_argument('config', type=existing_file,
                        help='config with model and knn_eval')
    parser.add_argument('checkpoint',
                        nargs='?',
                        help='checkpoint (omit '
                        'with --random-init)')
    parser.add_argument('--source',
                        default='online',
                        choices=sorted(SOURCE_PREFIXES))
    parser.add_argument('--random-init',
                        action='store_true',
                        help='use a randomly initialised backbone')
    parser.add_argument('--split',
                        default='test',
                        choices=['train', 'test'],
                        help='knn_eval split to embed (default: test)')
    parser.add_argument('--max-samples',
                        type=positive_int,
                        default=1000,
                        help='random subset size (default 1000)')
    parser.add_argument('--perplexity', type=float, default=30.0)
    parser.add_argument('--n-iter', type=int, default=1000)
    parser.add_argument('--backend',
                        default='auto',
                        choices=['auto', 'sklearn', 'torch'],
                        help='t-SNE implementation (auto: sklearn if '
                        'installed, else the built-in exact one)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out',
                        default=None,
                        help='PNG path (default: tsne_<split>.png next to '
                        'the checkpoint)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def run_tsne(feats, backend, perplexity, n_iter, seed):
    """2-D map of ``feats`` with the chosen backend."""
    if backend in ('auto', 'sklearn'):
        try:
            from sklearn.manifold import TSNE
        except ImportError:
            if backend == 'sklearn':
                raise SystemExit(
                    '--backend sklearn needs scikit-learn (pip install '
                    'scikit-learn); --backend torch needs nothing extra')
        else:
            try:
                tsne = TSNE(2,
                            perplexity=perplexity,
                            max_iter=n_iter,
                            init='pca',
                            random_state=seed)
            except TypeError:  # scikit-learn < 1.5 calls it n_iter
                tsne = TSNE(2,
                            perplexity=perplexity,
                            n_iter=n_iter,
                            init='pca',
                            random_state=seed)
            return torch.from_numpy(tsne.fit_transform(feats.numpy()))
    from ssl_plugins.evaluation.tsne import tsne
    return tsne(feats, perplexity=perplexity, n_iter=n_iter, seed=seed)


def embed(cfg, args):
    from mmengine.registry import init_default_scope
    from torch.utils.data import Subset

    from ssl_plugins.evaluation import extract_features
    from ssl_plugins.registry import DATASETS, MODELS

    init_default_scope(cfg.get('default_scope', 'ssl_plugins'))
    knn_cfg = cfg.get('knn_eval', None)
    if not knn_cfg or args.split not in knn_cfg:
        raise SystemExit(f'{args.config}: needs knn_eval=dict({args.split}='
                         '<dataset config with a test pipeline>)')
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    if not args.random_init:
        try:
            load_backbone_weights(model.backbone, args.checkpoint, args.source)
        except (KeyError, ValueError, TypeError) as err:
            raise SystemExit(str(err.args[0]))
        except (OSError, RuntimeError) as err:  # missing, corrupt, unsafe
            raise SystemExit(str(err))
    dataset = DATASETS.build(knn_cfg[args.split])
    g = torch.Generator().manual_seed(args.seed)
    n = min(args.max_samples, len(dataset))
    subset = Subset(dataset,
                    torch.randperm(len(dataset), generator=g)[:n].tolist())
    feats, labels = extract_features(model.backbone,
                                     model.data_preprocessor,
                                     subset,
                                     knn_cfg.get('batch_size', 256),
                                     progress=True)
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    return feats, labels, classes


def plot(points, labels, classes, out, title):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 6))
    cmap = plt.get_cmap('tab10' if int(labels.max()) < 10 else 'tab20')
    for c in labels.unique().tolist():
        sel = labels == c
        name = classes[c] if classes and c < len(classes) else str(c)
        ax.scatter(points[sel, 0],
                   points[sel, 1],
                   s=4,
                   color=cmap(c % 20),
                   label=name)
    ax.legend(markerscale=3, fontsize=7, loc='best')
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    if args.checkpoint is None and not args.random_init:
        raise SystemExit('give a CHECKPOINT or --random-init')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    feats, labels, classes = embed(cfg, args)
    points = run_tsne(feats, args.backend, args.perplexity, args.n_iter,
                      args.seed)
    out = args.out
    if out is None:
        base = (osp.dirname(osp.abspath(args.checkpoint))
                if args.checkpoint and not args.random_init else '.')
        out = osp.join(base, f'tsne_{args.split}.png')
    what = 'random init' if args.random_init else (
        f'{args.source} backbone of {osp.basename(args.checkpoint)}')
    plot(points, labels, classes, out,
         f't-SNE of {len(labels)} {args.split} features, {what}')
    print(f't-SNE written to {out}')
    return out, points, labels


if __name__ == '__main__':
    main()
