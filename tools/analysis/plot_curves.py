"""Plot the scalars an mmengine run logged (json) as PNG curves.

mmengine's ``LocalVisBackend`` writes one json object per line to
``WORK_DIR/<timestamp>/vis_data/scalars.json``: training lines carry
``iter`` (and ``epoch`` in epoch-based loops) and ``step == iter``;
validation lines carry the metrics with ``step == epoch``. Lines written by
our hooks (online kNN, collapse monitor) carry ``iter``. Everything is drawn
against the training iteration; validation epochs are placed at the last
iteration of that epoch.

Panels (only those with data): kNN / accuracy, embedding collapse (std x
sqrt(d), std, effective rank), DINO's teacher entropy / KL and centre norm,
loss, learning rate, momentum, temperature, weight decay.

Examples::

    python tools/analysis/plot_curves.py work_dirs/byol_fmnist
    python tools/analysis/plot_curves.py work_dirs/byol_fmnist --out byol.png
    python tools/analysis/plot_curves.py path/to/scalars.json --keys loss knn/top1
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


def find_scalars_file(path: str) -> str:
    """The json scalars log for a work dir, a run dir or a json file.

    In a work dir with several runs (``<timestamp>/`` folders), the latest
    run that has one wins.
    """
    if osp.isfile(path):
        return path
    if not osp.isdir(path):
        raise FileNotFoundError(f'no such work dir or json file: {path}')
    for pattern in ('vis_data/scalars.json', '*/vis_data/scalars.json'):
        found = sorted(glob.glob(osp.join(path, pattern)))
        if found:
            return found[-1]
    raise FileNotFoundError(
        f'no vis_data/scalars.json under {path}: was the run logged with '
        "mmengine's LocalVisBackend (the default visualizer)?")


def read_scalars(json_file: str) -> List[dict]:
    """One dict per json line; blank lines are skipped."""
    records = []
    with open(json_file) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f'{json_file}:{lineno}: not json ({err})')
    return records


def series(
        records: Sequence[dict]) -> Dict[str, Tuple[List[float], List[float]]]:
    """key -> (iterations, values) with validation epochs mapped to iters."""
    last_iter_of_epoch: Dict[int, int] = {}
    for r in records:
        if 'iter' in r and 'epoch' in r:
            e = int(r['epoch'])
            last_iter_of_epoch[e] = max(last_iter_of_epoch.get(e, 0),
                                        int(r['iter']))
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
        path (str): Work dir, run dir or json scalars file.
        out (str, optional): PNG to write. Default: ``curves.png`` next to
            the run's ``vis_data`` folder.
        keys (Sequence[str], optional): Plot only these keys.

    Returns:
        str: Path of the PNG.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    json_file = find_scalars_file(path)
    data = series(read_scalars(json_file))
    if keys:
        unknown = [k for k in keys if k not in data]
        if unknown:
            raise KeyError(f'{json_file}: no scalar named {unknown}; it has '
                           f'{sorted(data)}')
    groups = group_keys(list(data), keys)
    if not groups:
        raise ValueError(f'{json_file}: nothing to plot (keys: '
                         f'{sorted(data)})')
    if out is None:
        out = osp.join(osp.dirname(osp.dirname(osp.abspath(json_file))),
                       'curves.png')
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
    fig.suptitle(osp.join(*run_dir.split(os.sep)[-2:]), fontsize=8)
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
                        help='work dir, run dir (<timestamp>/) '
                        'or a vis_data/scalars.json file')
    parser.add_argument('--out',
                        help='output PNG (default: curves.png in '
                        'the run dir)')
    parser.add_argument('--keys', nargs='+', help='plot only these scalars')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        out = plot_curves(args.work_dir, args.out, args.keys)
    except (FileNotFoundError, KeyError, ValueError) as err:
        raise SystemExit(str(err.args[0]))
    print(f'curves written to {out}')
    return out


if __name__ == '__main__':
    main()
