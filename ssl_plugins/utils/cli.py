"""``argparse`` types for the tools: a bad value stops the tool while its
arguments are parsed (exit 2), with the option and the value named, before
any model is built or any data read."""
import argparse
import os.path as osp


def existing_file(path: str) -> str:
    """A path that is a file (a config, a checkpoint, an image)."""
    if not osp.isfile(path):
        raise argparse.ArgumentTypeError(
            f'{path!r} is a folder, not a file' if osp.isdir(path) else
            f'{path!r}: no such file')
    return path


def positive_int(text: str) -> int:
    """An integer >= 1 (a batch size, a sample count, an image size)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer')
    if value < 1:
        raise argparse.ArgumentTypeError(f'{value} is not >= 1')
    return value


def fraction(text: str) -> float:
    """A number in (0, 1] (a share of the attention mass)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a number')
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f'{value} is not in (0, 1]')
    return value
