"""``argparse`` types for the tools: a bad value stops the tool while its
arguments are parsed (exit 2), with the option and the value named, before
any model is built or any data read."""
import argparse
import os.path as osp
from typing import Any, Callable


def existing_file(path: str) -> str:
    """A path that is a file (a config, a checkpoint, an image)."""
    if not osp.isfile(path):
        raise argparse.ArgumentTypeError(
            f'{path!r} is a folder, not a file' if osp.isdir(path) else
            f'{path!r}: no such file')
    return path


def _number(text: str, cast: Callable[[str], Any], kind: str,
            ok: Callable[[Any], bool], rule: str):
    try:
        value = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not {kind}')
    if not ok(value):
        raise argparse.ArgumentTypeError(f'{value} is not {rule}')
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (a batch size, a sample count, an image size)."""
    return _number(text, int, 'an integer', lambda v: v >= 1, '>= 1')


def fraction(text: str) -> float:
    """A number in (0, 1] (a share of the attention mass)."""
    return _number(text, float, 'a number', lambda v: 0 < v <= 1,
                   'in (0, 1]')
