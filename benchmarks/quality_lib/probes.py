"""The probes of a network: weighted kNN and linear probe on the test
split (or a validation split), of a pretrained backbone, of raw pixels and of
the config's randomly initialised network."""
import json


def knn_datasets(cfg, args):
    """The probes' (bank / fit, query) data sets: the test split, or with
    ``--val N`` the last N train images (bank: the others)."""
    from ssl_plugins.evaluation import probe_splits
    return probe_splits(cfg.knn_eval, args.val, args.knn_train,
                        args.knn_test)


def probes(feats, args):
    """kNN top-1 per k and, unless ``--no-linear``, the linear probe's top-1
    (logistic regression on the cached, standardised features) of ``feats``
    (split -> (features, labels))."""
    from ssl_plugins.evaluation import linear_probe
    from ssl_plugins.evaluation.knn import knn_accuracy
    knn = {k: knn_accuracy(*feats['train'], *feats['test'], k=k)['top1']
           for k in args.k}
    linear = (None if args.no_linear else
              linear_probe(*feats['train'], *feats['test'])['top1'])
    return dict(knn=knn, linear=linear)


def probe_backbone(model, datasets, args, source=None):
    """:func:`probes` of ``model.backbone``, or with ``source='teacher'`` of
    the momentum teacher's (``model.target.backbone``)."""
    from ssl_plugins.evaluation import extract_features
    from ssl_plugins.models.utils.backbone_sources import backbone_module
    backbone = backbone_module(model, source or 'online')
    return probes({s: extract_features(backbone, model.data_preprocessor, ds,
                                       batch_size=500)
                   for s, ds in datasets.items()}, args)


def probe_raw_pixels(datasets, args):
    """:func:`probes` of the raw images (L2-normalised pixels for the kNN,
    standardised ones for the linear probe)."""
    from ssl_plugins.evaluation import pixel_features
    return probes({s: pixel_features(ds) for s, ds in datasets.items()},
                  args)


def random_init_knn(cfg, datasets, args, cache):
    """kNN of the config's network at its initialisation (seeded), computed
    once per distinct backbone (and data preprocessor), in two versions:
    ``'init'``: BN layers as initialised (running mean 0, variance 1: in eval
    mode each BN is an identity up to its affine init, so the network is a
    plain random ReLU network); ``'data'``: the same weights with the BN
    statistics of the kNN train images (``recalibrate_bn``), as a
    pretrained network has them: the control for what pretraining adds
    beyond BN statistics (a run at lr 0)."""
    key = json.dumps([cfg.model.backbone.to_dict(),
                      cfg.model.data_preprocessor.to_dict()],
                     sort_keys=True, default=str)
    if key not in cache:
        import torch

        from ssl_plugins.registry import MODELS
        torch.manual_seed(args.seed)
        model = MODELS.build(cfg.model)
        model.init_weights()
        init = probe_backbone(model, datasets, args)
        from ssl_plugins.evaluation import recalibrate_bn
        recalibrate_bn(model.backbone, model.data_preprocessor,
                       datasets['train'])
        cache[key] = dict(init=init,
                          data=probe_backbone(model, datasets, args))
    return cache[key]
