"""`Pipeline`: runs components locally in dependency order, with caching, lineage and resume.

Each output is written by its executor into a staging directory that is renamed to the
artifact's URI (`<root>/<component>/<output>/<execution_id>`) only once the execution has
succeeded; the metadata store records it only then. A crash or Ctrl-C leaves nothing a later
run could consume, and the next run re-executes that component and reuses the finished ones;
the re-execution keeps the killed one's staging directory when its work is the same (same cache
key), so an executor that saves its progress there (the Trainer's epochs) resumes.

The root may be any filesystem the seam knows (`kerasadv.orchestration.filesystem`): a local
path, or `gs://`, `s3://`, `hdfs://`, `ram://`... through `tf.io.gfile`. The SQLite metadata
store and the run lock stay on the launcher's local disk.
"""

import dataclasses
import errno
import hashlib
import os
import time
import uuid

import pandas as pd

from kerasadv.errors import StorageError
from kerasadv.orchestration import filesystem, writer
from kerasadv.orchestration.artifacts import Artifact
from kerasadv.orchestration.component import SpecError
from kerasadv.orchestration.executor import RESUME_FOLDER
from kerasadv.orchestration.lock import directory_lock
from kerasadv.orchestration.metadata import MetadataStore


@dataclasses.dataclass
class PipelineResult:
    """What a run did: per-component `summary` table, `outputs` by component id, store ids."""

    summary: pd.DataFrame
    outputs: dict
    context_id: int
    store: MetadataStore


def _resumable(store, staging, key):
    """True when `staging` was left by a killed execution with cache `key` that saved its progress."""
    execution_id = os.path.basename(staging).rpartition("-")[2]
    return (
        execution_id.isdigit()
        and store.was_abandoned(int(execution_id), key)
        and filesystem.exists(os.path.join(staging, RESUME_FOLDER))
    )


def _remove_all_but(directory, kept):
    """Removes every entry of `directory` except the path `kept`."""
    for entry in filesystem.glob_names(directory, "*"):
        if entry == kept:
            continue
        if filesystem.isdir(entry):
            writer.remove_tree(entry)
        else:
            filesystem.get(entry).remove(entry)


def _highest_artifact_folder(root):
    """The largest execution id among the artifact folders `root/<component>/<output>/<id>` (0: none)."""
    names = (os.path.basename(path.rstrip("/")) for path in filesystem.glob(os.path.join(root, "*", "*", "[0-9]*")))
    return max((int(name) for name in names if name.isdigit()), default=0)


def _ordered(components):
    """Topological order that keeps the given order where dependencies allow."""
    known = {c.id: c for c in components}
    if len(known) != len(components):
        raise SpecError("Component ids must be unique in a pipeline; pass component_id=... to tell them apart.")
    ordered, seen = [], set()

    def visit(component, path):
        if component.id in seen:
            return
        if component.id in path:
            raise SpecError(f"Cycle through component {component.id!r}.")
        for parent in component.upstream:
            if parent.id not in known:
                raise SpecError(f"{component.id} depends on {parent.id!r}, which is not in the pipeline.")
            visit(parent, path | {component.id})
        seen.add(component.id)
        ordered.append(component)

    for component in components:
        visit(component, frozenset())
    return ordered


def _with_descendants(components, ids):
    """`ids` and the ids of every component downstream of them (`components` in dependency order).

    Raises:
        SpecError: an id is not a component of the pipeline (names the known ids).
    """
    ids = [ids] if isinstance(ids, str) else list(ids)
    known = [c.id for c in components]
    unknown = sorted(set(ids) - set(known))
    if unknown:
        raise SpecError(f"rerun names unknown component id(s) {unknown}; expected ids among {known}.")
    chosen = set(ids)
    for component in components:
        if any(parent.id in chosen for parent in component.upstream):
            chosen.add(component.id)
    return frozenset(chosen)


def _out_of_space(error):
    """A full disk or quota, as Python (OSError) or TensorFlow (an OpError's message) reports it."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "No space left on device" in str(error) or "Disk quota exceeded" in str(error)


class Pipeline:
    """A pipeline of components, run with `run()`.

    Args:
        name: pipeline name.
        root: pipeline root; artifacts go to `root/<component>/<output>/<execution_id>`. A
            local path, or a URL of any filesystem TensorFlow knows (`gs://bucket/run`,
            `s3://`, `hdfs://`, `ram://`; see `kerasadv.filesystems`), shared by workers on
            other machines. A malformed URL (`gs:/bucket`) or an unknown scheme is refused.
        components: the components (any order; dependencies decide).
        metadata_path: SQLite file, always local (default `root/metadata.sqlite`; for a remote
            root `<local state dir>/metadata.sqlite`, `filesystem.local_state_dir(root)`,
            under `~/.cache/kerasadv/roots/`). The run lock lives in the same local directory
            (a remote root's lock guards runs from this machine only).
        enable_cache: False re-runs every component.
        lock_timeout: seconds a run waits for another run on the same root to finish before
            refusing with `LockedError` (0: refuse at once).
        rerun: ids of components to re-run even when cached, with everything downstream of
            them (what a component's own `enable_cache=False` does for one component).

    Raises:
        SpecError: duplicate component ids, a cycle, an input from a component outside the
            pipeline, or a `rerun` id that is not a component's (names the known ids).
        StorageError: a root that looks like a URL but is not one, or whose scheme has no
            registered filesystem (names the expected form and the fix).

    Example:
    >>> Pipeline("demo", "/tmp/demo_root", []).run(progress=False).summary.empty
    True
    >>> Pipeline("demo", "/tmp/demo_root", [], rerun=["Trainer"])
    Traceback (most recent call last):
    ...
    kerasadv.orchestration.component.SpecError: rerun names unknown component id(s) ['Trainer']; expected ids among [].
    """

    def __init__(self, name, root, components, metadata_path=None, enable_cache=True, lock_timeout=0.0, rerun=()):
        self.name, self.root = name, filesystem.normalize(root)
        self.components = _ordered(list(components))
        self.state_dir = filesystem.local_state_dir(self.root)
        self.metadata_path = str(metadata_path or os.path.join(self.state_dir, "metadata.sqlite"))
        self.enable_cache, self.lock_timeout = enable_cache, lock_timeout
        self.rerun = _with_descendants(self.components, rerun)

    def run(self, progress=True):
        """Runs the pipeline holding the root's lock (one run per root at a time)."""
        writer.make_dirs(self.root, "pipeline root")  # an unknown scheme or a read-only root fails here
        what = (
            f"pipeline root {self.root} (its local lock directory)" if self.state_dir != self.root else "pipeline root"
        )
        with directory_lock(self.state_dir, what, self.lock_timeout):
            return self._run(progress)

    def _run(self, progress):
        self._progress = progress
        store = MetadataStore(self.metadata_path)
        abandoned = store.abandon_running()  # only a killed run leaves `running` behind a free lock
        if abandoned and progress:
            print(f"{abandoned} execution(s) of a killed run marked abandoned", flush=True)
        context_id = store.new_context(self.name, uuid.uuid4().hex[:12])
        self._first_free_id = _highest_artifact_folder(self.root) + 1  # above folders a lost store left
        outputs, rows = {}, []
        total = len(self.components)
        for index, component in enumerate(self.components, start=1):
            start = time.perf_counter()
            if progress:
                print(f"[{index}/{total}] {component.id} ...", flush=True)
            inputs = {name: outputs[ch.producer.id][ch.name] for name, ch in component.inputs.items()}
            key = component.cache_key({n: a.fingerprint for n, a in inputs.items()})
            misses = len(store.cache_misses)
            state, produced = self._run_one(store, context_id, component, inputs, key)
            if progress and len(store.cache_misses) > misses:
                print(f"  cache not reused: {store.cache_misses[-1]}", flush=True)
            outputs[component.id] = produced
            seconds = time.perf_counter() - start
            rows.append(
                {
                    "component": component.id,
                    "state": state,
                    "seconds": round(seconds, 2),
                    "outputs": ", ".join(f"{n}#{a.id}" for n, a in produced.items()),
                }
            )
            if progress:
                print(f"[{index}/{total}] {component.id}: {state} in {seconds:.1f} s", flush=True)
        summary = pd.DataFrame(rows, columns=["component", "state", "seconds", "outputs"])
        if progress:
            print(summary.to_string(index=False))
        return PipelineResult(summary, outputs, context_id, store)

    def _check_inside_root(self, artifacts):
        """Refuses artifacts whose URI points outside the pipeline root (a tampered store)."""
        remote = filesystem.is_remote(self.root)
        root = self.root if remote else os.path.realpath(self.root)
        for artifact in artifacts.values():
            if remote:
                inside = artifact.uri.startswith(root + "/") and "/../" not in artifact.uri + "/"
            else:
                inside = os.path.commonpath([root, os.path.realpath(artifact.uri)]) == root
            if not inside:
                raise SpecError(
                    f"Artifact {artifact.type_name}#{artifact.id} points outside the pipeline root "
                    f"{self.root}: {artifact.uri!r}; refusing to use it."
                )

    def _staging_dir(self, store, component, name, key, execution_id):
        """A new staging directory, or the one a killed execution of the same work left, resumed.

        A killed execution with the same cache key (same inputs, parameters and code) keeps the
        `RESUME_FOLDER` its executor saved progress in (the Trainer's `BackupAndRestore` state):
        its staging directory is reused with everything else in it removed, so the executor picks
        up where the killed one stopped. Any other leftover (changed work, a failed execution) goes.
        """
        output_dir = os.path.join(self.root, component.id, name)
        resumed = None
        for stale in filesystem.glob_names(output_dir, ".staging-*"):
            if resumed is None and _resumable(store, stale, key):
                resumed = stale
                _remove_all_but(stale, os.path.join(stale, RESUME_FOLDER))
            else:
                writer.remove_tree(stale)
        if resumed is not None:
            if self._progress:
                print(f"  {component.id}: resuming from {resumed} (a killed run of the same work)", flush=True)
            return resumed
        path = os.path.join(output_dir, f".staging-{execution_id}")
        writer.make_dirs(path)
        return path

    def _run_one(self, store, context_id, component, inputs, key):
        use_cache = self.enable_cache and component.enable_cache and component.id not in self.rerun
        if use_cache:
            cached_from, cached = store.cached_outputs(key)
            if cached is not None:
                self._check_inside_root(cached)
                execution_id = store.start_execution(context_id, component, key, inputs, self._first_free_id)
                store.publish(execution_id, cached, cached_from=cached_from)
                return "cached", cached
        execution_id = store.start_execution(context_id, component, key, inputs, self._first_free_id)
        artifacts, staging = {}, {}
        for name, type_name in component.SPEC.outputs.items():
            staging[name] = self._staging_dir(store, component, name, key, execution_id)
            fingerprint = hashlib.sha256(f"{key}/{name}".encode()).hexdigest()
            artifacts[name] = Artifact(type_name, staging[name], {}, None, fingerprint)
        try:
            component.EXECUTOR().Do(inputs, artifacts, dict(component.parameters))
            for name, artifact in artifacts.items():
                artifact.uri = os.path.join(self.root, component.id, name, str(execution_id))
                writer.publish_directory(staging[name], artifact.uri)
        except KeyboardInterrupt:
            store.abandon(execution_id)  # as a kill: the next run of the same work resumes
            raise
        except BaseException as error:
            for path in staging.values():
                writer.remove_tree(path)  # first: frees the space a full disk needs
            store.fail(execution_id)
            if _out_of_space(error):
                raise StorageError(
                    f"{component.id}: no space left while writing its outputs under {self.root} ({error}). "
                    "Its partial outputs were removed; earlier artifacts and the metadata store are intact. "
                    "Free space (or choose another pipeline root) and re-run: finished components are reused."
                ) from error
            raise
        store.publish(execution_id, artifacts)
        return "complete", artifacts
