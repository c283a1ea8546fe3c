"""Write a generated block into a Markdown file between two markers."""
import os


def replace_block(path: str, begin: str, end: str, block: str) -> None:
    """Replace ``begin ... end`` in ``path`` by ``block`` (which includes the
    markers), or append it when the markers are absent."""
    text = open(path).read() if os.path.exists(path) else ''
    if begin in text and end in text:
        text = (text[:text.index(begin)] + block
                + text[text.index(end) + len(end):])
    else:
        text = (text.rstrip() + '\n\n' if text else '') + block + '\n'
    with open(path, 'w') as f:
        f.write(text)
