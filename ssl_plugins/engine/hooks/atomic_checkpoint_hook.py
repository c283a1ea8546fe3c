"""mmengine's CheckpointHook with checkpoints that survive a kill."""
import os
import os.path as osp

from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook

from ssl_plugins.engine.checkpoint_io import (CHECKSUM_SUFFIX, LAST_CHECKPOINT,
                                              atomic_write_text,
                                              check_resumed_state, commit_file,
                                              nonfinite_entries,
                                              write_checksum)
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

    A resume from a checkpoint whose weights are not the model's (another
    method or config) stops before anything is loaded, with an error naming
    the file and the keys or shapes (:func:`check_resumed_state`).

    Other storage backends (``backend_args`` for S3 and the like) keep
    mmengine's behaviour. Arguments: those of mmengine's ``CheckpointHook``,
    plus ``check_finite`` (bool, default True).
    """

    def __init__(self, *args, check_finite: bool = True, **kwargs):
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
        tmp_name = f'.{filename}.tmp'
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
        tmp_path = osp.join(self.out_dir, tmp_name)
        checksum_tmp = osp.join(self.out_dir, f'.{filename}'
                                f'{CHECKSUM_SUFFIX}.tmp')
        committed = False
        try:
            runner.save_checkpoint(
                self.out_dir, tmp_name, self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta, by_epoch=self.by_epoch,
                backend_args=self.backend_args, **self.args)
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
        if get_rank() == 0:
            atomic_write_text(osp.join(runner.work_dir, LAST_CHECKPOINT),
                              path)
            # only now, with the new one in place, the old ones go
            for old in ids[:-self.max_keep_ckpts]:
                old_path = osp.join(self.out_dir,
                                    self.filename_tmpl.format(old))
                for p in (old_path, old_path + CHECKSUM_SUFFIX):
                    if osp.isfile(p):
                        os.remove(p)
        if self.max_keep_ckpts > 0:
            self.keep_ckpt_ids.clear()
            self.keep_ckpt_ids.extend(ids[-self.max_keep_ckpts:])
