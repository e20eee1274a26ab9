"""Typed artifacts: a directory plus properties, as in TFX (URI = root/component/output/execution).

Each artifact the metadata store records carries the artifact format it was written in and
the kerasadv version that wrote it; `check_artifact_format` refuses a format newer than this
kerasadv reads, naming the version needed, instead of misreading it.
"""

import dataclasses
import json
import os

import kerasadv
from kerasadv.errors import KerasAdvError

ARTIFACT_TYPES = (
    "Examples",
    "AdversarialExamples",
    "Model",
    "ModelEvaluation",
    "ModelBlessing",
    "PushedModel",
    "Report",
    "ActivationThresholds",
    "Analysis",
    "Certification",
)

ARTIFACT_FORMAT = 1
"""The layout of an artifact's properties, manifest and files that this kerasadv writes and reads.

Raise it when a change would make an older kerasadv misread an artifact; artifacts recorded
without a format (written before formats were recorded) are format 1.
"""


def library_version():
    """The running kerasadv's version (the one recorded beside what it writes)."""
    return kerasadv.__version__


def check_artifact_format(found, written_by, where):
    """Refuses an artifact written in a format newer than `ARTIFACT_FORMAT`.

    Args:
        found: the recorded format (None: recorded before formats were, i.e. format 1).
        written_by: the kerasadv version that wrote it (None where unknown).
        where: the artifact, for the message (e.g. "Model#3 at /root/Trainer/model/3").

    Returns:
        The format, an int.

    Raises:
        KerasAdvError: a newer format; names the version that wrote it and the one needed.

    Example:
    >>> check_artifact_format(None, None, "Model#1")
    1
    >>> check_artifact_format(ARTIFACT_FORMAT + 1, "99.0", "Model#1")
    Traceback (most recent call last):
    ...
    kerasadv.errors.KerasAdvError: Model#1 was written by kerasadv 99.0 in artifact format 2; this kerasadv ...
    """
    found = 1 if found is None else int(found)
    if found > ARTIFACT_FORMAT:
        raise KerasAdvError(
            f"{where} was written by kerasadv {written_by or '(unknown)'} in artifact format {found}; this kerasadv "
            f"{library_version()} reads artifact formats up to {ARTIFACT_FORMAT}. Expected kerasadv "
            f">= {written_by or 'the version that wrote it'}: upgrade (pip install -U kerasadv), or re-run the "
            "component that produced it with this version (--rerun=<component id>)."
        )
    return found


@dataclasses.dataclass
class Artifact:
    """One output of one execution.

    Attributes:
        type_name: one of `ARTIFACT_TYPES`.
        uri: the artifact's directory.
        properties: JSON-serialisable facts about it (counts, metrics, blessed, ...).
        id: id in the metadata store (None until published).
        fingerprint: content key (hash of the producing execution's cache key and output name).
    """

    type_name: str
    uri: str
    properties: dict = dataclasses.field(default_factory=dict)
    id: int = None
    fingerprint: str = ""

    def path(self, *parts):
        """A path inside the artifact's directory."""
        return os.path.join(self.uri, *parts)

    def to_json(self):
        return json.dumps(
            {"type": self.type_name, "uri": self.uri, "properties": self.properties, "fingerprint": self.fingerprint},
            sort_keys=True,
        )
