"""Report sections of analysis artifacts: tables (CSV), plots (PNG) and findings, and the page writer.

An analysis component collects what a person should see in `Sections` and writes them into
its artifact (`sections.json` beside the CSV and PNG files); `StudyReport` reads them back in
pipeline order and writes one report.md + report.html. `write_report` is the one writer of
report pages (the quick-start `Report` uses it too).
"""

import html
import math
import os

import pandas as pd

from kerasadv.errors import KerasAdvError
from kerasadv.orchestration import filesystem, writer

SECTIONS_FILE = "sections.json"


class Sections:
    """Collects the report sections of one analysis artifact.

    Args:
        artifact: the output artifact the files are written into.
        expected: the finding keys the analysis declares (its component's `findings`); `save`
            checks that exactly these were recorded. None: no check.

    Example:
    >>> import tempfile, pandas as pd
    >>> from kerasadv.orchestration import Artifact
    >>> out = Artifact("Analysis", tempfile.mkdtemp())
    >>> sections = Sections(out, expected=["max_gain"])
    >>> sections.table("sizes", "Toggle activity", pd.DataFrame({"size": [5], "total": [0.41]}))
    >>> sections.finding("max_gain", 0.05)
    >>> sections.save()
    >>> [s["title"] for s in read_sections(out)["sections"]], read_sections(out)["findings"]
    (['Toggle activity'], {'max_gain': 0.05})
    """

    def __init__(self, artifact, expected=None):
        self.artifact, self.sections, self.findings, self.files = artifact, [], {}, []
        self.expected = None if expected is None else sorted(expected)

    def table(self, name, title, frame, note=""):
        """Adds a table, written as `<name>.csv`."""
        writer.write_csv(frame, self.artifact.path(f"{name}.csv"), index=False)
        self.sections.append({"title": title, "note": note, "table": f"{name}.csv"})

    def csv(self, name, frame):
        """Writes `<name>.csv` for download, without a section of its own."""
        writer.write_csv(frame, self.artifact.path(f"{name}.csv"), index=False)
        self.files.append(f"{name}.csv")

    def plot(self, path, title, note=""):
        """Adds a PNG already written into the artifact (`io.save_figure`)."""
        self.sections.append({"title": title, "note": note, "image": os.path.basename(path)})

    def finding(self, key, value):
        """A number the study report can put beside the paper's figure (None or NaN: missing)."""
        self.findings[key] = None if value is None or not math.isfinite(value) else float(value)

    def update(self, findings):
        """Records each `{key: value}` of `findings` as `finding` does."""
        for key, value in findings.items():
            self.finding(key, value)

    def save(self):
        """Writes `sections.json` and records the files and findings in the artifact's properties.

        Raises:
            KerasAdvError: the findings recorded are not the `expected` ones (names both sets' difference).
        """
        if self.expected is not None and sorted(self.findings) != self.expected:
            missing, extra = set(self.expected) - set(self.findings), set(self.findings) - set(self.expected)
            raise KerasAdvError(
                f"the analysis recorded findings {sorted(extra)} it does not declare and lacks {sorted(missing)}; "
                f"expected exactly its declared findings {self.expected}."
            )
        content = {"sections": self.sections, "findings": self.findings, "files": self.files}
        writer.write_json(content, self.artifact.path(SECTIONS_FILE))
        files = [s.get("table") or s.get("image") for s in self.sections] + self.files
        self.artifact.properties.update(files=files, findings=self.findings)


def read_sections(artifact):
    """`{"sections": [...], "findings": {...}, "files": [...]}` of an analysis artifact."""
    return filesystem.read_json(artifact.path(SECTIONS_FILE))


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
    """`(title, markdown, html)` of a bullet list.

    Example:
    >>> list_section("Lineage", ["model: #3"])[1]
    '- model: #3'
    """
    markdown = "\n".join(f"- {item}" for item in items)
    page = "<ul>" + "".join(f"<li>{html.escape(str(item))}</li>" for item in items) + "</ul>"
    return title, markdown, page


def artifact_sections(artifact, directory):
    """The `(title, markdown, html)` sections of an analysis artifact, its files copied to `directory`."""
    result, content = [], read_sections(artifact)
    for name in content.get("files", []):
        writer.copy_file(artifact.path(name), os.path.join(directory, name))
    for section in content["sections"]:
        name = section.get("table") or section["image"]
        writer.copy_file(artifact.path(name), os.path.join(directory, name))
        if "table" in section:
            with filesystem.open_file(artifact.path(name)) as f:
                frame = pd.read_csv(f)
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
    writer.write_text(markdown, report.path("report.md"))
    body = "".join(f"<h2>{html.escape(name)}</h2>{part}" for name, _, part in sections)
    page = (
        f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px} table{border-collapse:collapse} "
        ".table{overflow-x:auto;max-width:100%} "
        "td,th{border:1px solid #bbb;padding:2px 8px;text-align:right} img{max-width:100%}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    writer.write_text(page, report.path("report.html"))
