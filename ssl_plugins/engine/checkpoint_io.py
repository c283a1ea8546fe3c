"""Checkpoint files that survive a kill, a full disk and a flipped bit.

The three rules (docs/reliability.md):

1. A checkpoint appears under its final name only once complete: it is
   written to a temporary file in the same folder, flushed to the disk
   (``fsync``) and renamed into place (``os.replace``: atomic on POSIX);
   ``last_checkpoint`` is replaced the same way, and only then are old
   checkpoints deleted.
2. Each checkpoint has a ``<name>.sha256`` file beside it, in
   ``sha256sum``'s format (``sha256sum -c epoch_3.pth.sha256`` checks it),
   verified before a resume.
3. Resuming picks the newest checkpoint that verifies, and says which it
   skipped and why; with checkpoints present but none usable it stops
   rather than start again and overwrite them.
"""
import glob
import hashlib
import os
import os.path as osp
import re
from typing import Callable, List, Optional, Tuple

from ssl_plugins.models.utils.state_dict_diff import state_dict_differences

CHECKSUM_SUFFIX = '.sha256'
LAST_CHECKPOINT = 'last_checkpoint'
#: The custom hook event ``AtomicCheckpointHook`` calls on every rank just
#: before a save: mmengine's ``before_save_checkpoint`` runs on rank 0 only,
#: too late for a collective (``RNGStateHook`` gathers the ranks' states).
BEFORE_SAVE_ALL_RANKS = 'before_save_checkpoint_all_ranks'


def fsync_dir(folder: str) -> None:
    """Flush a folder's entries (a rename) to the disk, where supported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def commit_file(tmp_path: str, path: str) -> None:
    """Flush ``tmp_path`` to the disk and rename it to ``path`` atomically."""
    with open(tmp_path, 'rb+') as f:
        os.fsync(f.fileno())
    os.replace(tmp_path, path)
    fsync_dir(osp.dirname(osp.abspath(path)))


def atomic_write(path: str, write: Callable[[str], None]) -> None:
    """``write(tmp_path)``, then rename the file to ``path``: a reader sees
    the old or the new content, never a part, and a failed write (a full
    disk, an interrupt) leaves no temporary file behind."""
    tmp_path = osp.join(osp.dirname(osp.abspath(path)),
                        f'.{osp.basename(path)}.tmp')
    try:
        write(tmp_path)
        commit_file(tmp_path, path)
    except BaseException:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` with :func:`atomic_write`."""

    def write(tmp_path: str) -> None:
        with open(tmp_path, 'w') as f:
            f.write(text)

    atomic_write(path, write)


def file_sha256(path: str, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def write_checksum(path: str) -> str:
    """Write ``path``'s ``.sha256`` file (``sha256sum`` format); returns the
    digest."""
    digest = file_sha256(path)
    atomic_write_text(path + CHECKSUM_SUFFIX,
                      f'{digest}  {osp.basename(path)}\n')
    return digest


def verify_checkpoint(path: str) -> Tuple[bool, str]:
    """Whether ``path`` is a complete checkpoint, and why not.

    Returns:
        tuple: ``(ok, reason)``. A file without a ``.sha256`` file (written
        by another tool) passes if it is a non-empty zip archive, with the
        reason saying it was not verified.
    """
    if not osp.isfile(path):
        return False, 'missing'
    size = osp.getsize(path)
    if size == 0:
        return False, 'empty file'
    sidecar = path + CHECKSUM_SUFFIX
    if osp.isfile(sidecar):
        with open(sidecar) as f:
            expected = f.read().split()
        if not expected:
            return False, f'empty checksum file {sidecar}'
        actual = file_sha256(path)
        if actual != expected[0]:
            return False, (f'SHA-256 mismatch (file {actual[:12]}..., '
                           f'{osp.basename(sidecar)} {expected[0][:12]}...): '
                           'corrupt or partly written')
        return True, 'SHA-256 verified'
    import zipfile
    if not zipfile.is_zipfile(path):
        return False, 'not a torch zip archive (truncated?) and no checksum'
    return True, 'no checksum file (not verified)'


def checkpoint_files(work_dir: str) -> List[str]:
    """The ``*.pth`` files of a work folder, newest first (by the number in
    their name within a kind, then by modification time)."""
    paths = [p for p in glob.glob(osp.join(work_dir, '*.pth'))
             if not osp.basename(p).startswith('.')]

    def key(path):
        match = re.search(r'(\d+)\.pth$', osp.basename(path))
        return (osp.getmtime(path), int(match.group(1)) if match else -1)

    return sorted(paths, key=key, reverse=True)


def find_resume_checkpoint(work_dir: str, log=print) -> Optional[str]:
    """The checkpoint to resume a run in ``work_dir`` from.

    Candidates: the file named by ``last_checkpoint`` first, then every
    ``*.pth`` of the folder, newest first. A ``last_checkpoint`` naming a
    file in a folder of another name (the work folder was copied: ``cp -r
    run copy``) counts as naming the file of that name in ``work_dir`` when
    ``work_dir`` holds checkpoints of its own. A folder of the same name is
    followed: ``CheckpointHook(out_dir=...)`` writes to
    ``out_dir/<work folder name>``. The first that
    :func:`verify_checkpoint` accepts is returned; each one skipped is
    logged with its reason.

    Returns:
        str | None: the path, or None when the folder holds no checkpoint
        (a fresh start).

    Raises:
        RuntimeError: checkpoints exist but none is usable (a fresh start
            would overwrite them).
    """
    candidates = []
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named:
            if not osp.isabs(named) and not osp.exists(named):
                named = osp.join(work_dir, osp.basename(named))
            folder = osp.realpath(osp.dirname(named))
            here = osp.realpath(work_dir)
            if (folder != here and osp.basename(folder) != osp.basename(here)
                    and checkpoint_files(work_dir)):
                # a copied work folder: its pointer still names the
                # original's file; its own checkpoints come first. (An
                # out_dir keeps the work folder's name, out_dir/<name>: the
                # pointer is followed there.)
                local = osp.join(work_dir, osp.basename(named))
                log(f'resume: {pointer} names {named}, outside {work_dir}; '
                    f'taking {local} and the checkpoints of {work_dir}')
                named = local
            candidates.append(named)
        else:
            log(f'resume: {pointer} is empty; looking for checkpoints '
                f'in {work_dir}')
    for path in checkpoint_files(work_dir):
        if not any(osp.abspath(path) == osp.abspath(c) for c in candidates):
            candidates.append(path)
    skipped = []
    for path in candidates:
        ok, reason = verify_checkpoint(path)
        if ok:
            if skipped:
                log('resume: skipped ' + '; '.join(
                    f'{p} ({r})' for p, r in skipped))
            log(f'resume: from {path} ({reason})')
            return path
        skipped.append((path, reason))
    existing = [p for p, r in skipped if r != 'missing']
    if existing:
        raise RuntimeError(
            f'resume: no usable checkpoint in {work_dir}: ' + '; '.join(
                f'{p} ({r})' for p, r in skipped) + '. Not starting again '
            'from scratch, which would overwrite them: move them away or '
            'give --resume PATH.')
    if skipped:
        log('resume: skipped ' + '; '.join(f'{p} ({r})' for p, r in skipped))
    return None


def nonfinite_entries(state_dict: dict, limit: int = 5) -> List[str]:
    """Names of floating-point tensors of ``state_dict`` holding NaN or inf
    (at most ``limit``)."""
    import torch
    bad = []
    for name, value in state_dict.items():
        if (isinstance(value, torch.Tensor) and value.is_floating_point()
                and not bool(torch.isfinite(value).all())):
            bad.append(name)
            if len(bad) >= limit:
                break
    return bad


def check_resumed_state(path: str, checkpoint_state: dict,
                        model_state: dict, model_name: str = 'the model',
                        shown: int = 3) -> None:
    """Refuse to resume from a checkpoint whose weights are not the model's.

    mmengine's resume loads the weights with ``strict=False``, which only
    warns about missing keys and skips tensors of another shape, and then
    fails on the optimizer state with an error that names neither the file
    nor the cause (or trains on with part of the weights random). A resume
    continues the same run: every key and shape must match (a leading
    ``module.`` of a wrapped model aside).

    Args:
        path (str): the checkpoint (for the message).
        checkpoint_state (dict): its ``state_dict``.
        model_state (dict): the model's ``state_dict()``.
        model_name (str): the model's class, for the message.
        shown (int): keys quoted per kind.

    Raises:
        ValueError: naming the file, the counts and a few keys of each kind.
    """
    # a module's extra state is opaque (set_extra_state validates it): its
    # shape may change during a run (SwAV's queue: empty until started)
    theirs = {re.sub(r'^module\.', '', k): v
              for k, v in checkpoint_state.items()
              if not k.endswith('._extra_state')}
    model_state = {k: v for k, v in model_state.items()
                   if not k.endswith('._extra_state')}
    diff = state_dict_differences(model_state, theirs)
    missing, unexpected = sorted(diff.missing), sorted(diff.unexpected)
    reshaped = sorted(diff.reshaped)
    parts = []
    if missing:
        parts.append(f'{len(missing)} of its {len(model_state)} keys are not '
                     f'in the checkpoint (e.g. {", ".join(missing[:shown])})')
    if unexpected:
        parts.append(f'{len(unexpected)} of the checkpoint\'s keys are not '
                     f'in the model (e.g. {", ".join(unexpected[:shown])})')
    if reshaped:
        parts.append(f'{len(reshaped)} tensors have another shape (e.g. ' +
                     ', '.join(f'{k}: {theirs_shape} in the checkpoint, '
                               f'{ours_shape} in the model'
                               for k, theirs_shape, ours_shape in
                               reshaped[:shown]) + ')')
    if parts:
        raise ValueError(
            f'Cannot resume from {path}: its weights are not those of '
            f'{model_name}: {"; ".join(parts)}. A checkpoint of another '
            'method or config? --resume continues the same run; to start '
            "from other weights, use load_from or the backbone's "
            "init_cfg=dict(type='Pretrained', ...).")
