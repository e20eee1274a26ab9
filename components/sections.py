"""Report sections of analysis artifacts: tables (CSV), plots (PNG) and findings, and the page writer.

An analysis component collects what a person should see in `Sections` and writes them into
its artifact (`sections.json` beside the CSV and PNG files); `StudyReport` reads them back in
pipeline order and writes one report.md + report.html. `write_report` is the one writer of
report pages (the quick-start `Report` uses it too).
"""

import html
import json
import math
import os

import pandas as pd

from kerasadv import io

SECTIONS_FILE = "sections.json"


class Sections:
    """Collects the report sections of one analysis artifact.

    Args:
        artifact: the output artifact the files are written into.

    Example:
    >>> import tempfile, pandas as pd
    >>> from kerasadv.orchestration import Artifact
    >>> out = Artifact("Analysis", tempfile.mkdtemp())
    >>> sections = Sections(out)
    >>> sections.table("sizes", "Toggle activity", pd.DataFrame({"size": [5], "total": [0.41]}))
    >>> sections.finding("max_gain", 0.05)
    >>> sections.save()
    >>> [s["title"] for s in read_sections(out)["sections"]], read_sections(out)["findings"]
    (['Toggle activity'], {'max_gain': 0.05})
    """

    def __init__(self, artifact):
        self.artifact, self.sections, self.findings, self.files = artifact, [], {}, []

    def table(self, name, title, frame, note=""):
        """Adds a table, written as `<name>.csv`."""
        with io.atomic_path(self.artifact.path(f"{name}.csv")) as tmp:
            frame.to_csv(tmp, index=False)
        self.sections.append({"title": title, "note": note, "table": f"{name}.csv"})

    def csv(self, name, frame):
        """Writes `<name>.csv` for download, without a section of its own."""
        with io.atomic_path(self.artifact.path(f"{name}.csv")) as tmp:
            frame.to_csv(tmp, index=False)
        self.files.append(f"{name}.csv")

    def plot(self, path, title, note=""):
        """Adds a PNG already written into the artifact (`io.save_figure`)."""
        self.sections.append({"title": title, "note": note, "image": os.path.basename(path)})

    def finding(self, key, value):
        """A number the study report can put beside the paper's figure."""
        self.findings[key] = None if value is None or not math.isfinite(value) else float(value)

    def save(self):
        """Writes `sections.json` and records the files and findings in the artifact's properties."""
        content = {"sections": self.sections, "findings": self.findings, "files": self.files}
        io.write_json(content, self.artifact.path(SECTIONS_FILE))
        files = [s.get("table") or s.get("image") for s in self.sections] + self.files
        self.artifact.properties.update(files=files, findings=self.findings)


def read_sections(artifact):
    """`{"sections": [...], "findings": {...}}` of an analysis artifact."""
    with open(artifact.path(SECTIONS_FILE)) as f:
        return json.load(f)


def table_section(title, frame, note="", digits=4):
    """`(title, markdown, html)` of a table with an optional note above it."""
    shown = frame.round(digits)
    markdown = (note + "\n\n" if note else "") + shown.to_markdown(index=False)
    page = (f"<p>{html.escape(note)}</p>" if note else "") + (
        f"<div class='table'>{shown.to_html(index=False, na_rep='')}</div>"  # a wide table scrolls, the page does not
    )
    return title, markdown, page


def image_section(title, filename, note=""):
    """`(title, markdown, html)` of a PNG in the report's directory."""
    markdown = (note + "\n\n" if note else "") + f"![{title}]({filename})"
    page = (f"<p>{html.escape(note)}</p>" if note else "") + f"<img src='{html.escape(filename)}'>"
    return title, markdown, page


def list_section(title, items):
    """`(title, markdown, html)` of a bullet list."""
    markdown = "\n".join(f"- {item}" for item in items)
    page = "<ul>" + "".join(f"<li>{html.escape(str(item))}</li>" for item in items) + "</ul>"
    return title, markdown, page


def _copy(source_path, target_path):
    with open(source_path, "rb") as source, io.atomic_path(target_path) as tmp, open(tmp, "wb") as target:
        target.write(source.read())


def artifact_sections(artifact, directory):
    """The `(title, markdown, html)` sections of an analysis artifact, its files copied to `directory`."""
    result, content = [], read_sections(artifact)
    for name in content.get("files", []):
        _copy(artifact.path(name), os.path.join(directory, name))
    for section in content["sections"]:
        name = section.get("table") or section["image"]
        _copy(artifact.path(name), os.path.join(directory, name))
        if "table" in section:
            frame = pd.read_csv(artifact.path(name))
            result.append(table_section(section["title"], frame, section["note"]))
        else:
            result.append(image_section(section["title"], name, section["note"]))
    return result


def write_report(report, title, sections):
    """Writes `report.md` and a self-contained-layout `report.html` (PNGs beside it) atomically.

    Args:
        report: the Report artifact.
        title: the page title.
        sections: `[(title, markdown, html)]`, in order.
    """
    markdown = "\n\n".join([f"# {title}", *(f"## {name}\n\n{md}" for name, md, _ in sections)]) + "\n"
    with io.atomic_path(report.path("report.md")) as tmp, open(tmp, "w") as f:
        f.write(markdown)
    body = "".join(f"<h2>{html.escape(name)}</h2>{part}" for name, _, part in sections)
    page = (
        f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px} table{border-collapse:collapse} "
        ".table{overflow-x:auto;max-width:100%} "
        "td,th{border:1px solid #bbb;padding:2px 8px;text-align:right} img{max-width:100%}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    with io.atomic_path(report.path("report.html")) as tmp, open(tmp, "w") as f:
        f.write(page)
