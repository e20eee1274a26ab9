"""MkDocs hook: renders a tutorial script (jupytext "percent" format) into its page.

A tutorial page holds a line `<!-- tutorial: NAME.py -->`; the hook replaces it with the script
beside the page, turned into prose and code: the module docstring and each `# %% [markdown]`
cell (its lines without the leading `# `) become Markdown, every other `# %%` cell becomes a
Python code block. The script itself is what CI runs (tests/test_docs.py), so the page shows
exactly the code that was executed.
"""

import ast
import re
from pathlib import Path

MARKER = re.compile(r"^<!-- tutorial: (?P<name>[\w.-]+\.py) -->$", re.MULTILINE)
CELL = re.compile(r"^# %%(?P<kind> \[markdown\])?.*$", re.MULTILINE)


def _markdown(cell):
    lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in cell.strip("\n").splitlines()]
    return "\n".join(lines).strip()


def render(source):
    """The Markdown of a percent-format script."""
    module = ast.parse(source)
    parts, body = [], source
    docstring = ast.get_docstring(module)
    if docstring:
        parts.append(docstring)
        body = "\n".join(source.splitlines()[module.body[0].end_lineno :])
    pieces = CELL.split(body)  # [before, kind, cell, kind, cell, ...]
    cells = [(None, pieces[0])] + list(zip(pieces[1::2], pieces[2::2]))
    for kind, cell in cells:
        if kind:
            parts.append(_markdown(cell))
        elif cell.strip():
            parts.append(f"```python\n{cell.strip()}\n```")
    return "\n\n".join(parts) + "\n"


def on_page_markdown(markdown, page, config, files):
    def replace(match):
        path = Path(page.file.abs_src_path).parent / match.group("name")
        return render(path.read_text(encoding="utf-8"))

    return MARKER.sub(replace, markdown)
