"""docs/custom_data.md end to end: pretrain on an unlabelled folder with the
shipped custom-folder config, check the images first, then kNN on labels."""
import os
import os.path as osp
import re

import numpy as np

from helpers import PYTHON, REPO, run_tool

CONFIG = 'configs/byol/byol_resnet18_1xb64-coslr-100e_custom-folder.py'


def _image(path, seed):
    import cv2
    rng = np.random.default_rng(seed)
    h, w = rng.integers(40, 64, size=2)
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def test_custom_folder_pretrain_then_knn(tmp_path):
    images, labelled = tmp_path / 'my_images', tmp_path / 'my_labelled'
    for i in range(8):  # nested folders, mixed formats: all are used
        ext = 'png' if i % 3 else 'jpg'
        _image(str(images / f'part{i % 2}' / f'{i}.{ext}'), i)
    for split, n in (('train', 3), ('val', 2)):
        for c in ('cat', 'dog'):
            for i in range(n):
                _image(str(labelled / split / c / f'{i}.png'),
                       hash((split, c, i)) % 1000)
    proc = run_tool([PYTHON, 'tools/check_images.py', str(images)])
    assert proc.returncode == 0
    work = str(tmp_path / 'work')
    run_tool([PYTHON, 'tools/train.py', CONFIG, '--work-dir', work,
              '--cfg-options', f'train_dataloader.dataset.data_root={images}',
              'train_dataloader.batch_size=4',
              'train_dataloader.num_workers=0',
              'train_dataloader.persistent_workers=False',
              'train_dataloader.pin_memory=False', 'train_cfg.max_epochs=1'])
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    proc = run_tool([PYTHON, 'tools/knn_eval.py', CONFIG, ckpt, '--k', '2',
                     '--linear', '--cfg-options',
                     f'knn_eval.train.data_root={labelled}',
                     f'knn_eval.test.data_root={labelled}'])
    out = proc.stdout + proc.stderr
    # 6 bank images of 2 classes, 4 queries: a kNN and a linear-probe row
    assert 'k=2' in out and 'linear' in out, out[-2000:]


def test_logging_extras_and_the_config_lines_shown():
    """docs/custom_data.md, section 5: the extras it installs are declared in
    setup.py, and the config lines it shows build mmengine's backends."""
    import ast

    from mmengine.registry import VISBACKENDS, VISUALIZERS
    with open(osp.join(REPO, 'setup.py')) as f:
        setup_call = next(
            node for node in ast.walk(ast.parse(f.read()))
            if isinstance(node, ast.Call) and getattr(node.func, 'id', '')
            == 'setup')
    (extras, ) = [k.value for k in setup_call.keywords
                  if k.arg == 'extras_require']
    declared = {k.arg: ast.literal_eval(k.value) for k in extras.keywords
                if k.arg in ('tensorboard', 'wandb')}
    assert declared == dict(tensorboard=['tensorboard'], wandb=['wandb'])

    with open(osp.join(REPO, 'docs', 'custom_data.md')) as f:
        doc = f.read()
    section = doc[doc.index('## 5.'):]
    for extra in declared:
        assert f'pip install -e .[{extra}]' in section
    (code, ) = re.findall(r'```python\n(.*?)```', section, re.S)
    shown = {}
    exec(code, shown)  # the lines a user copies into a config
    (alternative, ) = re.findall(r'# or: (dict\(.*\))', code)
    backends = shown['vis_backends'] + [eval(alternative)]
    assert [b['type'] for b in backends] == [
        'LocalVisBackend', 'TensorboardVisBackend', 'WandbVisBackend'
    ]
    for cfg in backends:  # the package itself is imported at the first log
        backend = VISBACKENDS.build(dict(cfg, save_dir='unused'))
        assert type(backend).__name__ == cfg['type']
    assert VISUALIZERS.get(shown['visualizer']['type']) is not None
