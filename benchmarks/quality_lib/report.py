"""The quality table in Markdown (between the ``quality`` markers), the
``--json`` file of a run, and ``--merge`` of several runs' files."""
import json

from benchmarks.markdown import replace_block
from benchmarks.quality_lib.configs import CONFIGS

BEGIN, END = '<!-- quality:begin -->', '<!-- quality:end -->'
#: Arguments a --json file records for --merge.
RUN_ARGS = ('budget_min', 'epoch_rule', 'k', 'threads', 'knn_train',
            'knn_test', 'iters', 'no_linear', 'val')


def describe_backbone(backbone):
    """Short name of a backbone config for the random-init rows."""
    kind = str(backbone['type']).split('.')[-1]
    width = backbone.get('base_channels')
    depth = backbone.get('depth')
    return (kind + (f'-{depth}' if depth else '')
            + (f' w{width}' if width else '')
            + f', zero_init_residual='
            f'{backbone.get("zero_init_residual", True)}')


def write_markdown(path, results, args, env, command):
    """Write the table of ``results`` (rows), with the machine (``env``),
    the settings and the command, between :data:`BEGIN` and :data:`END` of
    the Markdown file ``path``."""
    ks = args.k
    head = ('| backbone | implementation | iterations in budget | '
            + ' | '.join(f'kNN top-1, k={k}' for k in ks)
            + ' | linear probe top-1 |')
    lines = [BEGIN, '',
             f'Measured {env["date"]} on {env["cpu"]} ({env["cpus"]} cores, '
             f'shared with other jobs: a *contended* machine), '
             f'{args.threads} torch thread(s); torch {env["torch"]}, '
             f'mmengine {env["mmengine"]}, mmpretrain {env["mmpretrain"]}.',
             f'Budget: **{args.budget_min:g} min of pretraining per method '
             f'and implementation** (wall clock, data loading included); '
             + (f'VALIDATION SPLIT (not the test split): kNN memory bank '
                f'and linear fit on the first train images, evaluated on '
                f'the last {getattr(args, "val", 0)} train images; weighted '
                if getattr(args, 'val', 0) else
                f'kNN memory bank: {args.knn_train or 60000} train images, '
                f'evaluated on {args.knn_test or 10000} test images; '
                'weighted ')
             + 'kNN, T=0.07, BN in eval mode with its running statistics, '
             'pooled last stage, L2-normalised; linear probe: logistic '
             'regression on the same features, cached and standardised, '
             'its L2 strength chosen on 10% of the train split '
             '(`ssl_plugins.evaluation.linear_probe`); raw pixels: the '
             'images in [0, 1], L2-normalised for the kNN. Each method is '
             'shown with the randomly initialised network of its own '
             'config, with its '
             'BN layers as initialised (identities in eval mode) and with '
             'the BN statistics of the train images (the lr-0 control). '
             'Ours runs its photometric augmentations on the batch '
             '(`BatchedAugmentDataPreprocessor`, same draws as the '
             'config\'s per-image ops), mmpretrain\'s per image in the '
             'loader, as its configs. '
             'Iterations: those trained in the budget; every schedule (lr, '
             'weight decay, momentum, the hooks\' iteration-keyed '
             'arguments) follows the elapsed fraction of the budget and '
             'ends with it ("N of M": a run of an earlier version, which '
             'planned M iterations and was stopped at N).',
             '',
             'Command:', '', '```', command, '```', '', head,
             '|' + '---|' * (4 + len(ks))]
    notes = []
    for row in results:
        knn = [f'{row["knn"][k]:.2f}' if row.get('knn') else 'n/a'
               for k in ks]
        knn.append(f'{row["linear"]:.2f}' if row.get('linear') is not None
                   else 'n/a')
        iters = row.get('iters', '-')
        if (isinstance(iters, int) and not row.get('clock')
                and iters < row.get('planned_iters', 0)):
            iters = f'{iters} of {row["planned_iters"]}'
        lines.append(f'| {row["name"]} | {row["impl"]} | {iters} | '
                     + ' | '.join(knn) + ' |')
        if row.get('knn_student'):
            notes.append(f'- {row["name"]}, {row["impl"]}: the student\'s '
                         'backbone: ' + ', '.join(
                             f'{row["knn_student"][k]:.2f}' for k in ks)
                         + f' (k = {", ".join(map(str, ks))})'
                         + (f', linear probe {row["linear_student"]:.2f}'
                            if row.get('linear_student') is not None
                            else '') + '.')
        if row.get('note'):
            notes.append(f'- {row["name"]}, {row["impl"]}: {row["note"]}.')
        if row.get('converted'):
            notes.append(f'- {row["name"]}, {row["impl"]}: '
                         + '; '.join(row['converted'])
                         + f' (1 epoch = {row["epoch_iters"]:g} iterations, '
                         f'--epoch-rule {args.epoch_rule}).')
    if notes:
        lines += ['', 'Notes per row: epoch-keyed recipe hooks converted '
                  'to iterations (named as in our configs; mmpretrain\'s '
                  'SwAV runs get the same values in its `SwAVHook`; rules in '
                  'the docstring of `benchmarks/quality.py`), the kNN of the '
                  'student where the table reads the teacher, and missing '
                  'rows:', ''] + notes
    lines += ['', END]
    block = '\n'.join(lines)
    replace_block(path, BEGIN, END, block)


def write_json(path, env, results, command, args):
    """The ``--json`` file of a run: environment, rows so far, command and
    the :data:`RUN_ARGS` that ``--merge`` compares."""
    with open(path, 'w') as f:
        json.dump(dict(env=env, results=results, command=command,
                       args={k: getattr(args, k) for k in RUN_ARGS}),
                  f, indent=1)


def merge(args):
    """The table of several ``--json`` runs: rows in method order (raw
    pixels, then per method: random init, ours, mmpretrain), the first of
    duplicated baseline rows kept; the runs must share :data:`RUN_ARGS`."""
    runs = []
    for path in args.merge:
        with open(path) as f:
            runs.append(json.load(f))
    first = runs[0]['args']
    for path, run in zip(args.merge, runs):
        diff = {k: (first.get(k), run['args'].get(k)) for k in RUN_ARGS
                if run['args'].get(k) != first.get(k)}
        if diff:
            raise ValueError(f'--merge: {path} was run with other settings '
                             f'than {args.merge[0]}: {diff}')
    rows, seen = [], set()
    for run in runs:
        for row in run['results']:
            key = (row['name'], row['impl'])
            if key not in seen:
                seen.add(key)
                for key in ('knn', 'knn_student'):
                    if row.get(key):
                        row[key] = {int(k): v for k, v in row[key].items()}
                rows.append(row)
    order = ['raw pixels'] + list(CONFIGS)
    rows.sort(key=lambda r: (order.index(r['name']),
                             0 if r['impl'].startswith('random init') else
                             1 if r['impl'].startswith('ours') else 2))
    for k, v in first.items():
        setattr(args, k, v)
    command = '\n'.join(run['command'] + ' &' for run in runs) + (
        '\nwait\npython benchmarks/quality.py --merge '
        + ' '.join(args.merge))
    write_markdown(args.markdown, rows, args, runs[0]['env'], command)
    return rows
