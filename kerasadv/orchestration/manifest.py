"""Content manifests of artifact directories: what the cache checks before reusing an artifact.

A manifest maps every file under an artifact's directory to its size and SHA-256, plus the
files outside it the artifact vouches for (a pushed model's `saved_model.pb`). A truncated
model or TFRecord shard, a deleted file or a deleted serving directory makes the artifact
unusable, and the component re-runs instead of being served from cache.
"""

import os

from kerasadv.orchestration.writer import sha256_file


def build_manifest(directory, external_files=()):
    """`{relative path: [size, sha256]}` of the files under `directory`, plus external files by absolute path.

    Example:
    >>> import tempfile
    >>> d = tempfile.mkdtemp(); _ = open(os.path.join(d, "a.txt"), "w").write("x")
    >>> build_manifest(d)["a.txt"][0]
    1
    """
    manifest = {}
    for folder, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(folder, name)
            manifest[os.path.relpath(path, directory)] = [os.path.getsize(path), sha256_file(path)]
    for path in external_files:
        manifest[os.path.abspath(path)] = [os.path.getsize(path), sha256_file(path)]
    return manifest


def manifest_problem(directory, manifest):
    """None when `directory` still holds exactly what `manifest` recorded, else what differs."""
    if not os.path.isdir(directory):
        return f"{directory} is missing"
    for relative, (size, digest) in manifest.items():
        path = relative if os.path.isabs(relative) else os.path.join(directory, relative)
        if not os.path.isfile(path):
            return f"{path} is missing"
        if os.path.getsize(path) != size or sha256_file(path) != digest:
            return f"{path} changed since it was written (size or content)"
    return None
