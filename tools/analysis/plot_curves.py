"""Plot the scalars an mmengine run logged (json) as PNG curves.

mmengine's ``LocalVisBackend`` writes one json object per line to
``WORK_DIR/<timestamp>/vis_data/scalars.json``: training lines carry
``iter`` (and ``epoch`` in epoch-based loops) and ``step == iter``;
validation lines carry the metrics with ``step == epoch``. Lines written by
our hooks (online kNN, collapse monitor) carry ``iter``. Everything is drawn
against the training iteration; validation epochs are placed at the last
iteration of that epoch.

A work dir holds one ``<YYYYmmdd_HHMMSS>/`` folder per run: after a kill and
a ``--resume`` the curves are spread over several. They are joined in time
order (:func:`join_series`): a later run takes over from the first
iteration it logged, since a resumed run re-trains every iteration after its
checkpoint.

Panels (only those with data): kNN / accuracy, embedding collapse (std x
sqrt(d), std, effective rank), DINO's teacher entropy / KL and centre norm,
loss, learning rate, momentum, temperature, weight decay.

Examples::

    python tools/analysis/plot_curves.py work_dirs/byol_fmnist
    python tools/analysis/plot_curves.py work_dirs/byol_fmnist --out byol.png
    python tools/analysis/plot_curves.py path/to/scalars.json \\
        --keys loss knn/top1
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

#: panel title -> regex on the key (first match wins, order matters)
PANELS: Tuple[Tuple[str, str], ...] = (
    ('kNN / accuracy', r'knn|accuracy|top[-_]?\d'),
    # CollapseMonitorHook: three scales, three panels
    ('collapse: std x sqrt(d) (1 healthy, 0 collapsed)', r'std_ratio'),
    ('collapse: std of L2-normalised embeddings', r'(^|[/_])std$'),
    ('collapse: effective rank', r'eff(ective)?_?rank'),
    # DINOTeacherCenteringHook: DINO's two collapse modes (§5.3)
    ('DINO: teacher entropy and KL(teacher || student), nats',
     r'teacher_entropy|kl_teacher'),
    ('DINO: norm of the teacher centre', r'center_norm'),
    ('loss', r'loss'),
    ('learning rate', r'(^|[/_])lr$'),
    ('momentum', r'momentum|(^|[/_])tau$'),
    ('temperature', r'temp'),
    ('weight decay', r'weight_decay|(^|[/_])wd$'),
)
_SKIP = {'step', 'iter', 'epoch', 'time', 'data_time', 'memory'}

#: mmengine names every run's folder after its start time
_RUN_DIR = re.compile(r'^\d{8}_\d{6}$')


def find_scalars_files(path: str) -> List[str]:
    """The json scalars logs of a work dir, a run dir or a json file.

    Args:
        path (str): A json file, a run dir (``<timestamp>/``, holding
            ``vis_data/scalars.json``) or a work dir holding run dirs.

    Returns:
        List[str]: One file, or in a work dir one per run in time order
        (oldest first): the ``YYYYmmdd_HHMMSS`` folder names mmengine gives
        its runs sort chronologically. Folders with other names count only
        when there is no timestamped one; they are then ordered by the
        modification time of their log.

    Raises:
        FileNotFoundError: Nothing to read.
    """
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'no such work dir or json file: {path}')
    own = osp.join(path, 'vis_data', 'scalars.json')
    if osp.isfile(own):
        return [own]
    found = glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json'))
    runs = sorted(f for f in found
                  if _RUN_DIR.match(osp.basename(osp.dirname(osp.dirname(f)))))
    if runs:
        return runs
    if found:
        return sorted(found, key=osp.getmtime)
    raise FileNotFoundError(
        f'no vis_data/scalars.json under {path}: was the run logged with '
        "mmengine's LocalVisBackend (the default visualizer)?")


def find_scalars_file(path: str) -> str:
    """The json scalars log of the newest run (see :func:`find_scalars_files`).

    Args:
        path (str): Work dir, run dir or json file.

    Returns:
        str: The newest run's file.
    """
    return find_scalars_files(path)[-1]


def read_scalars(json_file: str) -> List[dict]:
    """One dict per json line; blank lines are skipped. A bad last line
    without its newline (cut by a kill, or still being written) is left out
    with a warning; any other bad line raises ``ValueError`` naming it."""
    import warnings
    records = []
    with open(json_file, 'rb') as f:
        lines = f.read().split(b'\n')
    for lineno, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode('utf-8'))
            if not isinstance(record, dict):
                raise ValueError(f'a json {type(record).__name__}, not an '
                                 'object')
        except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
            if lineno == len(lines):  # no newline after it: cut
                warnings.warn(f'{json_file}:{lineno}: last line left out, '
                              f'not a json object (cut by a kill?): {err}')
                continue
            raise ValueError(f'{json_file}:{lineno}: not a json object '
                             f'({err})')
        records.append(record)
    return records


def last_iter_of_epochs(records: Sequence[dict]) -> Dict[int, int]:
    """epoch -> last iteration logged in it (training lines only).

    Args:
        records (Sequence[dict]): Lines of one or several runs.

    Returns:
        Dict[int, int]: Where a validation line of that epoch goes.
    """
    table: Dict[int, int] = {}
    for r in records:
        if 'iter' in r and 'epoch' in r:
            e = int(r['epoch'])
            table[e] = max(table.get(e, 0), int(r['iter']))
    return table


def series(
    records: Sequence[dict],
    epoch_table: Optional[Dict[int, int]] = None
) -> Dict[str, Tuple[List[float], List[float]]]:
    """key -> (iterations, values) with validation epochs mapped to iters.

    Args:
        records (Sequence[dict]): Lines of one run.
        epoch_table (Dict[int, int], optional): epoch -> last iteration,
            consulted for epochs the records' own training lines do not
            cover (a run resumed right at the end of an epoch).

    Returns:
        Dict[str, Tuple[List[float], List[float]]]: Numeric keys only.
    """
    last_iter_of_epoch = dict(epoch_table or {})
    last_iter_of_epoch.update(last_iter_of_epochs(records))
    out: Dict[str, Tuple[List[float], List[float]]] = OrderedDict()
    for r in records:
        if 'iter' in r:
            x = r['iter']
        else:  # validation line: step is the epoch (log_metric_by_epoch)
            x = last_iter_of_epoch.get(int(r.get('step', 0)), r.get('step', 0))
        for key, value in r.items():
            if key in _SKIP or key.split('/')[-1] in _SKIP:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            xs, ys = out.setdefault(key, ([], []))
            xs.append(x)
            ys.append(float(value))
    return out


def join_series(
    runs: Sequence[Dict[str, Tuple[List[float], List[float]]]]
) -> Dict[str, Tuple[List[float], List[float]]]:
    """Join the series of successive runs of one work dir, oldest first.

    A run resumed from a checkpoint re-trains every iteration after it, so a
    later run takes over from the first iteration ``s`` it logged: earlier
    points after ``s`` are dropped (including keys the later run does not
    log: they belong to the abandoned continuation), and at ``s`` the later
    run's value replaces the earlier one for the same key (a hook logging at
    ``before_train`` lands on the checkpoint's iteration, whose training
    line is in the earlier run). A run started from scratch in the same work
    dir (first iteration 1) thus replaces what came before it.

    Args:
        runs (Sequence[dict]): :func:`series` of each run, in time order.

    Returns:
        Dict[str, Tuple[List[float], List[float]]]: key -> (iterations,
        values), iterations increasing within each run's part.
    """
    joined: Dict[str, Tuple[List[float], List[float]]] = OrderedDict()
    for data in runs:
        xs_all = [x for xs, _ in data.values() for x in xs]
        if not xs_all:
            continue
        start = min(xs_all)
        for key in list(joined):
            later = set(data[key][0]) if key in data else set()
            kept = [(x, y) for x, y in zip(*joined[key])
                    if x < start or (x == start and x not in later)]
            joined[key] = ([x for x, _ in kept], [y for _, y in kept])
        for key, (xs, ys) in data.items():
            old_xs, old_ys = joined.setdefault(key, ([], []))
            old_xs.extend(xs)
            old_ys.extend(ys)
    return OrderedDict((k, v) for k, v in joined.items() if v[0])


def read_runs(
        files: Sequence[str]) -> Dict[str, Tuple[List[float], List[float]]]:
    """Read and join the scalars logs of successive runs (oldest first).

    Args:
        files (Sequence[str]): From :func:`find_scalars_files`.

    Returns:
        Dict[str, Tuple[List[float], List[float]]]: :func:`join_series` of
        the runs; validation epochs are placed with the epoch -> iteration
        table of all runs together.
    """
    runs = [read_scalars(f) for f in files]
    table = last_iter_of_epochs([r for records in runs for r in records])
    return join_series([series(records, table) for records in runs])


def group_keys(keys: Sequence[str],
               only: Optional[Sequence[str]] = None) -> Dict[str, List[str]]:
    """panel title -> keys, in :data:`PANELS` order, empty panels dropped."""
    groups: Dict[str, List[str]] = OrderedDict((t, []) for t, _ in PANELS)
    for key in keys:
        if only is not None and key not in only:
            continue
        for title, pattern in PANELS:
            if re.search(pattern, key, flags=re.IGNORECASE):
                groups[title].append(key)
                break
        else:
            if only is not None:
                groups.setdefault('other', []).append(key)
    return OrderedDict((t, k) for t, k in groups.items() if k)


def plot_curves(path: str,
                out: Optional[str] = None,
                keys: Optional[Sequence[str]] = None) -> str:
    """Draw the curves of a run into one PNG and return its path.

    Args:
        path (str): Work dir, run dir or json scalars file. In a work dir
            the runs (first one, then resumed ones) are joined, see
            :func:`join_series`.
        out (str, optional): PNG to write. Default: ``curves.png`` next to
            the newest run's ``vis_data`` folder.
        keys (Sequence[str], optional): Plot only these keys.

    Returns:
        str: Path of the PNG.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    files = find_scalars_files(path)
    json_file = files[-1]
    data = read_runs(files)
    where = json_file if len(files) == 1 else (
        f'{path} ({len(files)} runs joined)')
    if keys:
        unknown = [k for k in keys if k not in data]
        if unknown:
            raise KeyError(f'{where}: no scalar named {unknown}; it has '
                           f'{sorted(data)}')
    groups = group_keys(list(data), keys)
    if not groups:
        raise ValueError(f'{where}: nothing to plot (keys: '
                         f'{sorted(data)})')
    if out is None:
        out = osp.join(osp.dirname(osp.dirname(osp.abspath(json_file))),
                       'curves.png')
    if osp.isdir(out):
        raise ValueError(f'--out {out} is a folder; give an image file')
    if not osp.splitext(out)[1]:  # savefig would append .png silently
        out += '.png'
    fig, axes = plt.subplots(len(groups),
                             1,
                             sharex=True,
                             squeeze=False,
                             figsize=(8, 2.6 * len(groups)))
    for ax, (title, names) in zip(axes[:, 0], groups.items()):
        for name in names:
            xs, ys = data[name]
            marker = 'o' if len(xs) < 30 else None
            ax.plot(xs, ys, label=name, marker=marker, markersize=3)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc='best')
    axes[-1, 0].set_xlabel('iteration')
    run_dir = osp.dirname(osp.dirname(osp.abspath(json_file)))
    title = osp.join(*run_dir.split(os.sep)[-2:])
    if len(files) > 1:
        title += f' ({len(files)} runs joined)'
    fig.suptitle(title, fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.25 / (2.6 * len(groups))))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot loss, lr, momentum, temperature and kNN accuracy '
        'curves from the json scalars log of an mmengine run.')
    parser.add_argument('work_dir',
                        help='work dir (its runs, resumed ones included, '
                        'are joined), run dir (<timestamp>/) '
                        'or a vis_data/scalars.json file')
    parser.add_argument('--out',
                        help='output PNG (default: curves.png in '
                        'the newest run dir)')
    parser.add_argument('--keys', nargs='+', help='plot only these scalars')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        out = plot_curves(args.work_dir, args.out, args.keys)
    except (KeyError, ValueError) as err:
        raise SystemExit(str(err.args[0]))
    except OSError as err:  # err.args[0] of an OSError is the errno
        raise SystemExit(str(err))
    print(f'curves written to {out}')
    return out


if __name__ == '__main__':
    main()
