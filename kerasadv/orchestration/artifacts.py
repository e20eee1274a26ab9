"""Typed artifacts: a directory plus properties, as in TFX (URI = root/component/output/execution)."""

import dataclasses
import json
import os

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
