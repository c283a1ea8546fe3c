"""List the images of a folder that training could not load.

Decodes every image file under FOLDER (recursively, extensions of
mmpretrain's ``CustomDataset``) with the reader of the ``ssl_plugins``
``LoadImageFromFile`` transform, in parallel processes, and prints each bad
file with its reason (unreadable, empty, not an image, truncated, corrupt).

Examples::

    python tools/check_images.py data/my_images --workers 8
    python tools/check_images.py data/my_images --backend pillow

Exit status: 0 if every image loads, 1 if any is bad, 2 if FOLDER holds no
image file (or is not a folder).
"""
import argparse
import multiprocessing
import os
import os.path as osp
import sys
from functools import partial
from typing import List, Optional, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from ssl_plugins.datasets.transforms.loading import find_image_problem

#: the default extensions of mmpretrain's CustomDataset
EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
              '.tiff', '.webp')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the tool.

    Args:
        argv (Sequence[str], optional): arguments; ``sys.argv[1:]`` if None.

    Returns:
        argparse.Namespace: ``folder``, ``workers``, ``backend``,
        ``color_type``, ``extensions``.
    """
    parser = argparse.ArgumentParser(
        description='Decode every image of a folder as training does and '
        'list the bad ones. Exit 1 if any is bad, 0 if none is.')
    parser.add_argument('folder', help='image folder (searched recursively)')
    parser.add_argument(
        '--workers',
        type=int,
        default=min(8, os.cpu_count() or 1),
        help='parallel processes (default: min(8, CPU count))')
    parser.add_argument(
        '--backend',
        default='cv2',
        choices=['cv2', 'pillow', 'turbojpeg', 'tifffile'],
        help='decoding backend, the imdecode_backend of the pipeline '
        '(default: cv2)')
    parser.add_argument(
        '--color-type',
        default='color',
        help='color_type of the pipeline\'s LoadImageFromFile '
        '(default: color)')
    parser.add_argument(
        '--extensions',
        nargs='+',
        default=list(EXTENSIONS),
        help='file extensions to check, case-insensitive '
        '(default: those of mmpretrain\'s CustomDataset)')
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error('--workers must be at least 1')
    return args


def list_images(folder: str, extensions: Sequence[str]) -> List[str]:
    """Image files under ``folder``, sorted, following symbolic links.

    Args:
        folder (str): the folder.
        extensions (Sequence[str]): accepted extensions (with the dot).

    Returns:
        list[str]: the paths, joined to ``folder``.
    """
    exts = tuple(e.lower() if e.startswith('.') else '.' + e.lower()
                 for e in extensions)
    paths = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        paths.extend(
            osp.join(root, name) for name in sorted(files)
            if name.lower().endswith(exts))
    return paths


def check_images(paths: Sequence[str],
                 workers: int = 1,
                 color_type: str = 'color',
                 backend: str = 'cv2',
                 progress: bool = True) -> List[Tuple[str, str]]:
    """Decode every file; return the bad ones with their reasons.

    Args:
        paths (Sequence[str]): image files.
        workers (int): parallel processes; 1 checks in this process.
            Defaults to 1.
        color_type (str): ``color_type`` of the loader. Defaults to 'color'.
        backend (str): decoding backend. Defaults to 'cv2'.
        progress (bool): draw a progress bar on stderr. Defaults to True.

    Returns:
        list[tuple[str, str]]: ``(path, reason)`` of each bad file, sorted
        by path.
    """
    from mmengine.utils import ProgressBar
    bar = ProgressBar(len(paths), file=sys.stderr) if progress else None
    # a package function, so that the pool pickles it by reference also
    # under the 'spawn' start method
    check = partial(find_image_problem, color_type=color_type,
                    backend=backend)
    bad = []

    def collect(problems):
        for path, problem in zip(paths, problems):
            if problem is not None:
                bad.append((path, problem))
            if bar is not None:
                bar.update()

    if workers == 1 or len(paths) < 2:
        collect(map(check, paths))
    else:
        chunk = max(1, min(64, len(paths) // (workers * 4)))
        with multiprocessing.Pool(min(workers, len(paths))) as pool:
            collect(pool.imap(check, paths, chunksize=chunk))
    if bar is not None:
        sys.stderr.write('\n')
    return sorted(bad)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the tool.

    Args:
        argv (Sequence[str], optional): arguments; ``sys.argv[1:]`` if None.

    Returns:
        int: the exit status (0 all good, 1 bad files, 2 nothing to check).
    """
    args = parse_args(argv)
    if not osp.isdir(args.folder):
        print(f'check_images: {args.folder} is not a folder', file=sys.stderr)
        return 2
    paths = list_images(args.folder, args.extensions)
    if not paths:
        print(f'check_images: no image file ({" ".join(args.extensions)}) '
              f'under {args.folder}', file=sys.stderr)
        return 2
    bad = check_images(paths, args.workers, args.color_type, args.backend)
    for path, problem in bad:
        print(f'{path}: {problem}')
    print(f'{len(bad)} bad of {len(paths)} images under {args.folder}',
          file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
