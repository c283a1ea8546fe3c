"""Weighted kNN accuracy of the backbone during pretraining."""
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.dist import barrier, broadcast_object_list
from mmengine.hooks import Hook, LoggerHook

from ssl_plugins.engine.hooks.arg_checks import check_int, check_number
from ssl_plugins.functional.distributed import get_rank
from ssl_plugins.models.utils.backbone_sources import (SOURCE_PREFIXES,
                                                       backbone_module)
from ssl_plugins.registry import DATASETS, HOOKS
from .model_access import unwrapped_model


@HOOKS.register_module()
class KNNHook(Hook):
    """Evaluate the backbone by weighted kNN every ``interval`` epochs.

    The InstDisc/DINO protocol (Wu et al. 2018; Caron et al. 2021): features
    of a labelled train split and test split from the backbone in eval mode
    (global-average-pooled last stage, L2-normalised), each test sample
    classified by its ``k`` most similar train samples voting with weight
    ``exp(cos / T)``. Top-1/top-5 accuracies (%) are logged as
    ``knn/top1``, ``knn/top5`` (first ``k``) and ``knn/k{k}_top1`` ... for the
    others, with ``step`` = the training iteration, into every visualiser
    backend (json scalars log, TensorBoard...) like any metric, and printed.
    Latest values are kept in ``runner.message_hub`` info ``knn``.

    Rank 0 computes (no collective is needed; BN in eval mode does not
    synchronise), the others wait at a barrier and receive the result.

    Args:
        interval (int): Epochs (or iterations if ``by_epoch=False``) between
            evaluations. Default 1.
        train (dict, optional): Dataset config of the labelled train split;
            default ``cfg.knn_eval.train``. Its pipeline must be a plain test
            pipeline ending with ``PackInputs``.
        test (dict, optional): Same for the test split
            (default ``cfg.knn_eval.test``).
        k (int | Sequence[int]): Neighbours. Default ``(20, 200)``.
        temperature (float): Vote temperature. Default 0.07.
        batch_size (int): Feature-extraction batch size; default
            ``cfg.knn_eval.batch_size`` or 256.
        source (str): ``'online'``/``'student'`` (``model.backbone``) or
            ``'target'``/``'teacher'``
            (``model.target.backbone``, the momentum copy of BYOL/DINO), as
            ``models.utils.backbone_sources.backbone_module`` resolves it.
        by_epoch (bool): Count ``interval`` in epochs. Default True.
        before_train (bool): Also evaluate before the first step (the
            random-init baseline). Default False.
        max_samples (tuple[int, int], optional): Use only the first
            ``(n_train, n_test)`` samples of the splits (mmengine's dataset
            ``indices``), to bound the cost of frequent evaluations; the
            final figure should come from ``tools/knn_eval.py`` on the full
            splits.
    """
    priority = 'LOW'

    def __init__(self,
                 interval: int = 1,
                 train: Optional[dict] = None,
                 test: Optional[dict] = None,
                 k: Union[int, Sequence[int]] = (20, 200),
                 temperature: float = 0.07,
                 batch_size: Optional[int] = None,
                 source: str = 'online',
                 by_epoch: bool = True,
                 before_train: bool = False,
                 max_samples: Optional[Sequence[int]] = None):
        if source not in SOURCE_PREFIXES:
            raise ValueError(
                "KNNHook: source must be 'online'/'student' or "
                f"'target'/'teacher', got {source!r}")
        check_int('KNNHook', 'interval', interval, 1)
        check_number('KNNHook', 'temperature', temperature, 0,
                     exclusive_minimum=True)
        check_int('KNNHook', 'batch_size', batch_size, 1, optional=True)
        self.interval = interval
        self.train_cfg, self.test_cfg = train, test
        self.ks = [k] if isinstance(k, int) else list(k)
        for value in self.ks:
            check_int('KNNHook', 'k', value, 1)
        self.temperature = temperature
        self.batch_size = batch_size
        self.source = source
        self.by_epoch = by_epoch
        self.eval_before_train = before_train
        if max_samples is not None and (not isinstance(max_samples,
                                                       (tuple, list))
                                        or len(max_samples) != 2):
            raise ValueError('KNNHook: max_samples is (n_train, n_test), got '
                             f'{max_samples}')
        self.max_samples = max_samples
        self._datasets = None

    def _model(self, runner):
        return unwrapped_model(runner, 'KNNHook')

    def _backbone(self, model) -> torch.nn.Module:
        try:
            return backbone_module(model, self.source)
        except AttributeError as err:
            raise AttributeError(
                f'KNNHook(source="{self.source}"): {err}') from None

    def _dataset_cfgs(self, runner) -> Dict[str, dict]:
        knn_cfg = runner.cfg.get('knn_eval', None) or {}
        cfgs = dict(train=self.train_cfg or knn_cfg.get('train'),
                    test=self.test_cfg or knn_cfg.get('test'))
        for split, cfg in cfgs.items():
            if cfg is None:
                raise KeyError(
                    f'KNNHook: no {split} dataset; pass {split}=dict('
                    f'...) or put knn_eval=dict({split}=...) in the '
                    'config')
        if self.batch_size is None:
            self.batch_size = knn_cfg.get('batch_size', 256)
        if self.max_samples is not None:
            cfgs = {
                split: dict(cfg, indices=int(n))
                for (split, cfg), n in zip(cfgs.items(), self.max_samples)
            }
        return cfgs

    def before_train(self, runner) -> None:
        # fail before training on a bad source or missing splits
        self._backbone(self._model(runner))
        self._dataset_cfgs(runner)
        if self.eval_before_train:
            self.evaluate(runner, epoch=0)

    def after_train_epoch(self, runner) -> None:
        if self.by_epoch and self.every_n_epochs(runner, self.interval):
            self.evaluate(runner, epoch=runner.epoch + 1)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if not self.by_epoch and self.every_n_train_iters(
                runner, self.interval):
            self.evaluate(runner, epoch=runner.epoch + 1)

    def compute(self, runner) -> Dict[str, float]:
        """Extract features and return the accuracies (no logging)."""
        from ssl_plugins.evaluation import extract_features
        from ssl_plugins.evaluation.knn import knn_accuracy
        if self._datasets is None:
            self._datasets = {
                split: DATASETS.build(cfg)
                for split, cfg in self._dataset_cfgs(runner).items()
            }
        model = self._model(runner)
        backbone = self._backbone(model)
        feats = {
            split:
            extract_features(backbone, model.data_preprocessor, data,
                             self.batch_size)
            for split, data in self._datasets.items()
        }
        results = {}
        for i, k in enumerate(self.ks):
            acc = knn_accuracy(*feats['train'],
                               *feats['test'],
                               k=k,
                               temperature=self.temperature)
            for name, value in acc.items():
                key = f'knn/{name}' if i == 0 else f'knn/k{k}_{name}'
                results[key] = value
        return results

    def evaluate(self, runner, epoch: int) -> Dict[str, float]:
        """Compute on rank 0, share with every rank, log.

        ``epoch`` is the 1-based epoch being trained (0 before training), as
        mmengine writes it in its training log lines.
        """
        box = [self.compute(runner) if get_rank() == 0 else None]
        barrier()
        broadcast_object_list(box, src=0)
        results = box[0]
        runner.message_hub.update_info('knn', results)
        scalars = dict(results, iter=runner.iter, epoch=epoch)
        json_path = next(
            (h.json_log_path for h in runner.hooks
             if isinstance(h, LoggerHook) and getattr(h, 'json_log_path', None)
             ), None)
        runner.visualizer.add_scalars(scalars,
                                      step=runner.iter,
                                      file_path=json_path)
        runner.logger.info(
            f'kNN (T={self.temperature}, {self.source} backbone, k='
            f'{self.ks[0]}) after {runner.iter} iters: ' +
            '  '.join(f'{key}: {value:.2f}' for key, value in results.items()))
        return results
