"""Content manifests of artifact directories: what the cache checks before reusing an artifact.

A manifest maps every file under an artifact's directory to its size and SHA-256, plus the
files outside it the artifact vouches for (a pushed model's `saved_model.pb`). A truncated
model or TFRecord shard, a deleted file or a deleted serving directory makes the artifact
unusable, and the component re-runs instead of being served from cache.
"""

import os

from kerasadv.orchestration import filesystem
from kerasadv.orchestration.writer import MARKER, is_published, sha256_file


def build_manifest(directory, external_files=()):
    """`{relative path: [size, sha256]}` of the files under `directory`, plus external files by absolute path.

    Example:
    >>> import tempfile
    >>> d = tempfile.mkdtemp(); _ = open(os.path.join(d, "a.txt"), "w").write("x")
    >>> build_manifest(d)["a.txt"][0]
    1
    """
    manifest = {}
    for folder, _, files in filesystem.walk(directory):
        for name in files:
            path = os.path.join(folder, name)
            if path != os.path.join(directory, MARKER):
                manifest[os.path.relpath(path, directory)] = [filesystem.size(path), sha256_file(path)]
    for path in external_files:
        path = path if filesystem.is_remote(path) else os.path.abspath(path)
        manifest[path] = [filesystem.size(path), sha256_file(path)]
    return manifest


def manifest_problem(directory, manifest):
    """None when `directory` is published and still holds exactly what `manifest` recorded, else what differs."""
    if not filesystem.isdir(directory):
        return f"{directory} is missing"
    if not is_published(directory):
        return f"{directory} is incomplete (no {MARKER} marker: its publication was interrupted)"
    for relative, (size, digest) in manifest.items():
        path = relative if filesystem.is_absolute(relative) else os.path.join(directory, relative)
        if not filesystem.isfile(path):
            return f"{path} is missing"
        if filesystem.size(path) != size or sha256_file(path) != digest:
            return f"{path} changed since it was written (size or content)"
    return None
