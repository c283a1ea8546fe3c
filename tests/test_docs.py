"""The docs stand alone: every file they point to is in the repository, and
the README's first screen holds what a new user needs."""
import glob
import os.path as osp
import re

from helpers import REPO

MARKDOWN = ['README.md'] + sorted(
    glob.glob(osp.join(REPO, 'docs', '*.md')) +
    glob.glob(osp.join(REPO, 'benchmarks', '**', '*.md'), recursive=True))
# files whose text may name a markdown page (docstrings, comments, configs)
SOURCES = MARKDOWN + sorted(
    p for folder in ('ssl_plugins', 'tools', 'benchmarks', 'configs')
    for ext in ('py', 'yml', 'sh')
    for p in glob.glob(osp.join(REPO, folder, '**', f'*.{ext}'),
                       recursive=True)) + [
                           osp.join(REPO, name)
                           for name in ('setup.py', 'setup.cfg', 'Makefile')
                       ]
# a markdown file named with at least one folder; not a command's output
CITED_MD = re.compile(
    r'(?<![\w./-])(?<!--markdown )((?:\.\.?/)*[\w.-]+(?:/[\w.-]+)+\.md)\b')


def _read(path: str) -> str:
    with open(osp.join(REPO, path), encoding='utf-8') as f:
        return f.read()


def test_markdown_links_resolve():
    assert len(MARKDOWN) > 10
    broken = []
    for doc in MARKDOWN:
        folder = osp.dirname(osp.join(REPO, doc))
        for target in re.findall(r'\]\(([^)\s]+)\)', _read(doc)):
            if re.match(r'[a-z]+:', target) or target.startswith('#'):
                continue  # a URL or an anchor of the same page
            path = osp.normpath(osp.join(folder, target.split('#')[0]))
            if not osp.exists(path):
                broken.append(f'{osp.relpath(doc, REPO)}: {target}')
    assert not broken, broken


def test_cited_markdown_pages_exist():
    """A page named in the docs, a docstring or a config (``docs/x.md``,
    ``../docs/x.md``) is in the repository: nothing cites notes that only
    its authors have."""
    missing, cited = [], 0
    for source in SOURCES:
        folder = osp.dirname(osp.join(REPO, source))
        for name in CITED_MD.findall(_read(source)):
            cited += 1
            if not any(osp.exists(osp.normpath(osp.join(root, name)))
                       for root in (folder, REPO)):
                missing.append(f'{osp.relpath(source, REPO)}: {name}')
    assert cited > 50
    assert not missing, missing


def test_readme_first_screen():
    """What it is, the two commands, one train command, one result table,
    before the first section heading, within a screen."""
    text = _read('README.md')
    first = text[:text.index('\n## ')]
    assert len(first.splitlines()) <= 40
    assert first.startswith('# ssl_plugins\n')
    for what in ('BYOL', 'SimSiam', 'Barlow Twins', 'SwAV', 'DINO'):
        assert what in first.split('\n\n')[1], what  # the first paragraph
    commands = re.findall(r'```bash\n(.*?)```', first, re.S)
    assert [line.split()[:2] for line in commands[0].splitlines()] == [
        ['make', 'demo'], ['make', 'test']
    ]
    assert any(line.startswith('python tools/train.py CONFIG')
               for block in commands[1:] for line in block.splitlines())
    tables = re.findall(r'\n\|[-| ]+\|\n', first)
    assert len(tables) == 1
    assert '| raw pixels |' in first
