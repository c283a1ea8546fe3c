"""Bad input to the tools used after training: each is refused with a message
naming the file or option, and nothing that existed is lost."""
import errno
import hashlib
import json
import os
import os.path as osp

import pytest
import torch

from helpers import REPO, load_tool

CONFIG = osp.join(
    REPO, 'configs/byol/byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_'
    'fashion-mnist.py')


@pytest.fixture(scope='module')
def extract():
    return load_tool('tools/extract_backbone_weights.py', 'extract_tool')


def checkpoint(path, nan=False, sha=False):
    """A small checkpoint holding an mmpretrain ResNet-18 as the online
    backbone; ``nan``: one NaN weight; ``sha``: with its .sha256 file."""
    from mmpretrain.models import ResNet
    state = {'backbone.' + k: v
             for k, v in ResNet(depth=18).state_dict().items()}
    if nan:
        state['backbone.layer2.0.conv1.weight'][0, 0, 0, 0] = float('nan')
    torch.save(dict(meta=dict(epoch=1), state_dict=state), path)
    if sha:
        with open(path, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        with open(path + '.sha256', 'w') as f:
            f.write(f'{digest}  {osp.basename(path)}\n')
    return path


def test_export_over_its_own_checkpoint_is_refused(extract, tmp_path):
    ckpt = checkpoint(str(tmp_path / 'epoch_1.pth'))
    before = os.path.getsize(ckpt)
    with pytest.raises(SystemExit, match='is the input checkpoint'):
        extract.main([ckpt, ckpt])
    assert os.path.getsize(ckpt) == before
    assert set(torch.load(ckpt)) == {'meta', 'state_dict'}
    with pytest.raises(SystemExit, match='is a folder'):
        extract.main([ckpt, str(tmp_path)])


def test_export_of_nan_weights_is_refused_naming_them(extract, tmp_path):
    ckpt = checkpoint(str(tmp_path / 'nan.pth'), nan=True)
    out = str(tmp_path / 'bb.pth')
    with pytest.raises(SystemExit) as err:
        extract.main([ckpt, out])
    assert 'layer2.0.conv1.weight' in str(err.value)
    assert 'NaN or inf' in str(err.value)
    assert not osp.exists(out)


def test_a_checkpoint_that_fails_its_checksum_is_refused(extract, tmp_path):
    ckpt = checkpoint(str(tmp_path / 'epoch_1.pth'), sha=True)
    extract.main([ckpt, str(tmp_path / 'ok.pth')])  # verified, accepted
    with open(ckpt, 'r+b') as f:  # one flipped byte in the tensor data
        f.seek(os.path.getsize(ckpt) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(SystemExit, match='SHA-256 mismatch'):
        extract.main([ckpt, str(tmp_path / 'bad.pth')])
    assert not osp.exists(tmp_path / 'bad.pth')


def test_a_failed_export_leaves_the_previous_output(extract, tmp_path,
                                                    monkeypatch):
    ckpt = checkpoint(str(tmp_path / 'epoch_1.pth'))
    out = str(tmp_path / 'bb.pth')
    extract.main([ckpt, out])
    with open(out, 'rb') as f:
        good = f.read()

    def full_disk(obj, path):  # writes part of the file, then fails
        with open(path, 'wb') as f:
            f.write(b'PK\x03\x04partial')
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(extract.torch, 'save', full_disk)
    with pytest.raises(SystemExit, match=f'cannot write {out}'):
        extract.main([ckpt, out])
    with open(out, 'rb') as f:
        assert f.read() == good
    assert [p for p in os.listdir(tmp_path) if p.endswith('.tmp')] == []


def test_knn_eval_checks_out_before_any_work(tmp_path):
    knn = load_tool('tools/knn_eval.py', 'knn_tool')
    blocker = tmp_path / 'file'
    blocker.write_text('')
    missing = str(tmp_path / 'no_such.pth')  # would fail later, if reached
    with pytest.raises(SystemExit) as err:
        knn.main([CONFIG, missing, '--out', str(blocker / 'knn.json')])
    assert str(err.value).startswith(f'--out {blocker / "knn.json"}: '
                                     'cannot write there')
    with pytest.raises(SystemExit, match='is a folder'):
        knn.main([CONFIG, missing, '--out', str(tmp_path)])


def test_knn_eval_json_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    from ssl_plugins.engine import checkpoint_io
    out = tmp_path / 'knn.json'
    out.write_text('{"old": 1}')
    real_open = open

    def failing_open(path, mode='r', *args, **kwargs):
        if str(path).endswith('.knn.json.tmp') and 'w' in mode:
            f = real_open(path, mode, *args, **kwargs)
            f.write('{"trunc')
            f.close()
            raise OSError(errno.ENOSPC, 'No space left on device')
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr('builtins.open', failing_open)
    with pytest.raises(OSError):
        checkpoint_io.atomic_write_text(str(out), json.dumps({'new': 2}))
    monkeypatch.undo()
    assert json.loads(out.read_text()) == {'old': 1}
    assert sorted(os.listdir(tmp_path)) == ['knn.json']


def test_features_of_broken_weights_or_no_images_are_refused():
    from torch import nn

    from ssl_plugins.evaluation.feature_extraction import extract_features

    class Images(torch.utils.data.Dataset):
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            from mmpretrain.structures import DataSample
            return dict(inputs=torch.full((3, 4, 4), float(i)),
                        data_samples=DataSample().set_gt_label(i))

    def identity(batch, training=False):
        return batch

    net = nn.Sequential(nn.Conv2d(3, 2, 1))
    with pytest.raises(ValueError, match='the data set is empty'):
        extract_features(net, identity, Images(0), batch_size=2)
    feats, labels = extract_features(net, identity, Images(3), batch_size=2)
    assert feats.shape == (3, 2) and labels.tolist() == [0, 1, 2]
    with torch.no_grad():
        net[0].weight.fill_(3e38)  # finite, but the features overflow
    with pytest.raises(FloatingPointError, match='2 of 3 feature vectors'):
        extract_features(net, identity, Images(3), batch_size=2)


def test_plot_curves_reads_a_log_cut_by_a_kill(tmp_path):
    plot = load_tool('tools/analysis/plot_curves.py', 'plot_tool')
    log = tmp_path / 'scalars.json'
    lines = [json.dumps(dict(step=i, loss=1.0 / i, lr=0.1)) for i in (1, 2)]
    log.write_text('\n'.join(lines) + '\n{"step": 3, "lo')
    with pytest.warns(UserWarning, match='scalars.json:3: last line left'):
        assert [r['step'] for r in plot.read_scalars(str(log))] == [1, 2]
    log.write_text(lines[0] + '\n[1, 2]\n' + lines[1] + '\n')
    with pytest.raises(ValueError, match='scalars.json:2: not a json object'):
        plot.read_scalars(str(log))
    log.write_bytes(lines[0].encode() + b'\n\xff\xfe\n' + lines[1].encode()
                    + b'\n')
    with pytest.raises(ValueError, match='scalars.json:2: not a json object'):
        plot.read_scalars(str(log))


@pytest.mark.parametrize('tool,argv,named', [
    ('tools/train.py', ['configs/byol/no_such.py'],
     "argument config: 'configs/byol/no_such.py': no such file"),
    ('tools/train.py', ['configs/byol'],
     "argument config: 'configs/byol' is a folder, not a file"),
    ('tools/knn_eval.py', [CONFIG, 'x.pth', '--batch-size', '-4'],
     'argument --batch-size: -4 is not >= 1'),
    ('tools/knn_eval.py', [CONFIG, 'x.pth', '--batch-size', '0'],
     'argument --batch-size: 0 is not >= 1'),
    ('tools/visualize_attention.py',
     [CONFIG, 'x.pth', 'x.png', '--out', 'o', '--threshold', '2'],
     'argument --threshold: 2.0 is not in (0, 1]'),
    ('tools/visualize_attention.py',
     [CONFIG, 'x.pth', 'x.png', '--out', 'o', '--image-size', '0'],
     'argument --image-size: 0 is not >= 1'),
    ('tools/analysis/visualize_tsne.py',
     [CONFIG, 'x.pth', '--max-samples', 'many'],
     "argument --max-samples: 'many' is not an integer"),
])
def test_bad_arguments_stop_the_tools_while_parsing(tool, argv, named,
                                                    capsys, monkeypatch):
    """Each bad value stops the tool with exit 2 naming the option and the
    value, before a config is read or a model built (a misspelled config
    gave mmengine's traceback; batch size -4 torch's; threshold 2 and image
    size 0 were accepted or failed in PIL)."""
    monkeypatch.chdir(REPO)
    module = load_tool(tool, 'tool_' + osp.basename(tool)[:-3])
    with pytest.raises(SystemExit) as err:
        module.parse_args(argv)
    assert err.value.code == 2
    assert named in capsys.readouterr().err
