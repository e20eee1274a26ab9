"""Reports: the sections analyses write into their artifacts, the report pages, and the figures (`plots`)."""

from kerasadv.reporting import plots
from kerasadv.reporting.sections import (
    Sections,
    artifact_sections,
    image_section,
    list_section,
    read_sections,
    table_section,
    write_report,
)

__all__ = [
    "Sections",
    "artifact_sections",
    "image_section",
    "list_section",
    "plots",
    "read_sections",
    "table_section",
    "write_report",
]
