"""Griffe extension for kerasadv's API pages (mkdocs.yml loads it for mkdocstrings).

1. `kerasadv.components` and `kerasadv.pipelines` where Python has them. The repository keeps
   `components/` and `pipelines/` at the top (TFX's layout) and setup.cfg's `package_dir`
   installs them under `kerasadv`. Griffe reads source trees, not import hooks, so from a
   checkout (an editable install) it finds no such subpackages: each folder is loaded as a
   submodule of the loaded `kerasadv` package, so the pages name them by their public names
   (`::: kerasadv.components.trainer`).
2. Doctest examples written flush under their heading (`Example:` then `>>>` at the same
   indentation, which doctest and Keras accept) are indented into an `Examples:` section, so
   griffe renders them as code blocks (not as an admonition whose `>>>` lines read as Markdown
   block quotes).
"""

import re
from pathlib import Path

import griffe

SUBPACKAGES = {"components": "components", "pipelines": "pipelines"}  # member name -> folder
EXAMPLE_HEADING = re.compile(r"^(\s*)Examples?:\s*$")


def indent_examples(text):
    """`text` with each flush `Example(s):` heading named `Examples:` and its doctest block indented."""
    lines = text.splitlines()
    out, i = [], 0
    while i < len(lines):
        heading = EXAMPLE_HEADING.match(lines[i])
        i += 1
        if not heading or i >= len(lines) or not lines[i].startswith(heading.group(1) + ">>>"):
            out.append(lines[i - 1])
            continue
        out.append(heading.group(1) + "Examples:")
        while i < len(lines):
            line = lines[i]
            if not line.strip():  # a blank line ends the block unless more doctest follows
                following = next((rest for rest in lines[i + 1 :] if rest.strip()), "")
                if not following.lstrip().startswith(">>>"):
                    break
            out.append("    " + line if line.strip() else line)
            i += 1
    return "\n".join(out)


class KerasadvLayout(griffe.Extension):
    def on_package(self, *, pkg, loader, **kwargs):
        if pkg.name != "kerasadv" or pkg.filepath is None:
            return
        root = Path(pkg.filepath).parent.parent  # the repository (or site-packages)
        for name, folder in SUBPACKAGES.items():
            path = root / folder / "__init__.py"
            if name in pkg.members or not path.is_file():
                continue  # an ordinary install already has kerasadv/<name>/
            module = loader._load_module(name, path, parent=pkg)
            pkg.set_member(name, module)

    def on_object(self, *, obj, loader, **kwargs):
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = indent_examples(obj.docstring.value)

    def on_module(self, *, mod, loader, **kwargs):
        self.on_object(obj=mod, loader=loader)
