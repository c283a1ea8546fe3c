"""mmengine's CheckpointHook with checkpoints that survive a kill."""
import os
import os.path as osp

from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook

from ssl_plugins.engine.checkpoint_io import (BEFORE_SAVE_ALL_RANKS,
                                              CHECKSUM_SUFFIX, LAST_CHECKPOINT,
                                              atomic_write_text,
                                              check_resumed_state, commit_file,
                                              nonfinite_entries,
                                              write_checksum)
from ssl_plugins.engine.hooks.arg_checks import check_int
from ssl_plugins.functional.distributed import get_rank
from ssl_plugins.registry import HOOKS


# Registered under mmengine's name as well: with default_scope='ssl_plugins'
# every config's ``dict(type='CheckpointHook')`` (ours and inherited ones)
# builds this class.
@HOOKS.register_module(name=['AtomicCheckpointHook', 'CheckpointHook'])
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose checkpoints are never lost to a kill.

    mmengine 0.10's hook deletes the oldest checkpoint *before* writing the
    new one into its final name and then rewrites ``last_checkpoint``: a
    kill (or a full disk) in between leaves ``last_checkpoint`` naming a
    missing or half-written file, and with ``max_keep_ckpts=1`` nothing
    loadable. Here, on a local disk:

    1. the model's state is checked for NaN / inf first: a non-finite
       checkpoint is never written (``FloatingPointError`` naming the
       tensors; the last good checkpoint stays ``last_checkpoint``);
    2. the checkpoint is written to ``.<name>.tmp`` in the same folder,
       fsynced and renamed into place, its ``<name>.sha256`` written beside
       it (``ssl_plugins.engine.checkpoint_io``);
    3. ``last_checkpoint`` is replaced atomically;
    4. only then are checkpoints beyond ``max_keep_ckpts`` deleted, which is
       at least 2 (a value of 1 is raised to 2: the previous checkpoint is
       the fallback while the newest is written).

    ``save_best`` writes the new best checkpoint the same way before it
    deletes the previous best (mmengine deletes first). Before every save
    the custom hook event ``before_save_checkpoint_all_ranks`` is called on
    all ranks (``RNGStateHook`` gathers each rank's generator states there).

    A resume from a checkpoint whose weights are not the model's (another
    method or config) stops before anything is loaded, with an error naming
    the file and the keys or shapes (:func:`check_resumed_state`).

    Other storage backends (``backend_args`` for S3 and the like) keep
    mmengine's behaviour. Arguments: those of mmengine's ``CheckpointHook``,
    plus ``check_finite`` (bool, default True).
    """

    def __init__(self, *args, check_finite: bool = True, **kwargs):
        # mmengine compares these with ints without a check: a config's
        # max_keep_ckpts='3' ended in a bare TypeError
        if args:
            kwargs['interval'] = args[0]
            args = args[1:]
        for name, minimum in (('interval', -1), ('max_keep_ckpts', -1)):
            if name in kwargs:
                check_int('CheckpointHook', name, kwargs[name], minimum)
        super().__init__(*args, **kwargs)
        if 0 < self.max_keep_ckpts < 2:
            self.max_keep_ckpts = 2
        self.check_finite = check_finite

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('state_dict')
        if not getattr(runner, '_resume', False) or not isinstance(state,
                                                                   dict):
            return
        model = runner.model
        model = getattr(model, 'module', model)
        path = getattr(runner, '_load_from', None) or 'the checkpoint'
        check_resumed_state(path, state, model.state_dict(),
                            type(model).__name__)

    def _local(self) -> bool:
        return isinstance(self.file_backend, LocalBackend)

    def _save_checkpoint_with_step(self, runner, step, meta):
        # every rank, before the rank-0-only save: RNGStateHook gathers the
        # ranks' generator states here
        runner.call_hook(BEFORE_SAVE_ALL_RANKS)
        if not self._local():
            return super()._save_checkpoint_with_step(runner, step, meta)
        if self.check_finite:
            model = runner.model
            model = getattr(model, 'module', model)
            bad = nonfinite_entries(model.state_dict())
            if bad:
                raise FloatingPointError(
                    'CheckpointHook: not saving '
                    f'{self.filename_tmpl.format(step)}'
                    f' at iteration {runner.iter}: non-finite values in '
                    f'{", ".join(bad)}. The last good checkpoint stays '
                    f'{self.last_ckpt or "(none yet)"}.')
        filename = self.filename_tmpl.format(step)
        path = osp.join(self.out_dir, filename)
        ids = []
        if self.max_keep_ckpts > 0:
            ids = list(self.keep_ckpt_ids)
            if not ids or ids[-1] != step:
                ids.append(step)
            # the checkpoint records the ids it will leave behind (mmengine
            # restores them on resume and prunes from them)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           ids[-self.max_keep_ckpts:])
        previous = self.last_ckpt
        self.last_ckpt = path
        runner.message_hub.update_info('last_ckpt', path)
        self._write(runner, filename, previous,
                    save_optimizer=self.save_optimizer,
                    save_param_scheduler=self.save_param_scheduler,
                    meta=meta, by_epoch=self.by_epoch, **self.args)
        if get_rank() == 0:
            atomic_write_text(osp.join(runner.work_dir, LAST_CHECKPOINT),
                              path)
            # only now, with the new one in place, the old ones go
            for old in ids[:-self.max_keep_ckpts]:
                _remove_checkpoint(
                    osp.join(self.out_dir, self.filename_tmpl.format(old)))
        if self.max_keep_ckpts > 0:
            self.keep_ckpt_ids.clear()
            self.keep_ckpt_ids.extend(ids[-self.max_keep_ckpts:])

    def _write(self, runner, filename: str, previous, **save_args) -> None:
        """``runner.save_checkpoint`` into ``.<filename>.tmp``, then fsync,
        rename and checksum (rank 0); on a full disk the partial files go
        and the error names ``filename`` and ``previous``."""
        path = osp.join(self.out_dir, filename)
        tmp_name = f'.{filename}.tmp'
        tmp_path = osp.join(self.out_dir, tmp_name)
        checksum_tmp = osp.join(self.out_dir, f'.{filename}'
                                f'{CHECKSUM_SUFFIX}.tmp')
        committed = False
        try:
            runner.save_checkpoint(self.out_dir, tmp_name,
                                   self.file_client_args,
                                   backend_args=self.backend_args,
                                   **save_args)
            if get_rank() == 0:
                commit_file(tmp_path, path)  # fsync: ENOSPC may come here
                committed = True
                write_checksum(path)
        except OSError as err:
            # a full disk: partial files would keep it full, and a
            # checkpoint without its checksum is not one we vouch for; say
            # which checkpoint failed and which one a resume will take
            leftovers = [tmp_path, checksum_tmp]
            if committed:
                leftovers += [path, path + CHECKSUM_SUFFIX]
            for p in leftovers:
                if osp.isfile(p):
                    os.remove(p)
            raise OSError(
                err.errno, f'CheckpointHook: could not write {path} at '
                f'iteration {runner.iter}: {err.strerror or err}. The '
                f'partial files were removed; the last good checkpoint stays '
                f'{previous or "(none yet)"}.') from err

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's ``save_best`` with the new best checkpoint written
        (atomically) before the previous best is deleted: mmengine deletes
        first, so a kill in between left no best checkpoint."""
        if not self.save_best or not self._local():
            return super()._save_best_checkpoint(runner, metrics)
        step = runner.epoch if self.by_epoch else runner.iter
        filename = self.filename_tmpl.format(step)
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])
        single = len(self.key_indicators) == 1
        updated = False
        for key, rule in zip(self.key_indicators, self.rules):
            suffix = '' if single else f'_{key}'
            score = metrics[key]
            best = runner.message_hub.get_info(f'best_score{suffix}',
                                               self.init_value_map[rule])
            if score is None or not self.is_better_than[key](score, best):
                continue
            updated = True
            old = (self.best_ckpt_path if single else
                   self.best_ckpt_path_dict.get(key))
            name = f'best_{key}_{filename}'.replace('/', '_')
            path = osp.join(self.out_dir, name)
            # the message hub (saved in the checkpoint) names the new best;
            # a failed write puts the previous one back
            self._set_best(runner, key, score, path)
            try:
                self._write(runner, name, old, save_optimizer=False,
                            save_param_scheduler=False, meta=meta,
                            by_epoch=False)
            except BaseException:
                self._set_best(runner, key, best, old)
                raise
            if get_rank() == 0 and old and old != path:
                _remove_checkpoint(old)
                runner.logger.info(
                    f'The previous best checkpoint {old} is removed')
            runner.logger.info(
                f'The best checkpoint with {score:0.4f} {key} at '
                f'{"epoch" if self.by_epoch else "iter"} {step} is saved to '
                f'{name}.')
        # the latest checkpoint again, so that its message hub names this
        # best checkpoint (as mmengine does)
        if updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, step, meta)

    def _set_best(self, runner, key: str, score, path) -> None:
        """Record ``path`` and ``score`` as the best of ``key``, in the hook
        and in the message hub (mmengine's names for one or several keys)."""
        if len(self.key_indicators) == 1:
            suffix, self.best_ckpt_path = '', path
        else:
            suffix, self.best_ckpt_path_dict[key] = f'_{key}', path
        runner.message_hub.update_info(f'best_score{suffix}', score)
        runner.message_hub.update_info(f'best_ckpt{suffix}', path)


def _remove_checkpoint(path: str) -> None:
    """Delete a checkpoint and its ``.sha256``, where present."""
    for p in (path, path + CHECKSUM_SUFFIX):
        if osp.isfile(p):
            os.remove(p)
