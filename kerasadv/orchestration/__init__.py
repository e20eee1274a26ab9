"""TFX-style orchestration without TFX: artifacts, components, SQLite metadata, local runner."""

from kerasadv.orchestration.artifacts import ARTIFACT_TYPES, Artifact
from kerasadv.orchestration.component import BaseComponent, Channel, ComponentSpec, Input, Parameter, SpecError
from kerasadv.orchestration.executor import RESUME_FOLDER, BaseExecutor
from kerasadv.orchestration.metadata import MetadataStore
from kerasadv.orchestration.pipeline import Pipeline, PipelineResult

__all__ = [
    "ARTIFACT_TYPES",
    "Artifact",
    "BaseComponent",
    "BaseExecutor",
    "Channel",
    "ComponentSpec",
    "Input",
    "Parameter",
    "SpecError",
    "MetadataStore",
    "Pipeline",
    "PipelineResult",
    "RESUME_FOLDER",
]
