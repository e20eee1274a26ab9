"""SQLite metadata store: contexts (pipeline runs), executions, artifacts and events.

Lineage ("which data, attack and parameters produced this pushed model?") is a walk from an
artifact to the execution that output it, to that execution's inputs, and so on.

A store records its format (`STORE_FORMAT`) and the kerasadv version that created or last
migrated it (table `store_info`), and every artifact its own format and writer: an older
store is migrated when opened, a newer one refused with the version it needs, never misread.
A store without a record (written before versions were recorded) is format 1.
"""

import contextlib
import json
import os
import sqlite3
import time

from kerasadv.errors import KerasAdvError, StorageError
from kerasadv.orchestration import filesystem
from kerasadv.orchestration.artifacts import ARTIFACT_FORMAT, Artifact, check_artifact_format, library_version
from kerasadv.orchestration.manifest import build_manifest, manifest_problem

_SCHEMA = """
CREATE TABLE IF NOT EXISTS contexts (
    id INTEGER PRIMARY KEY, pipeline TEXT, run_id TEXT, started REAL);
CREATE TABLE IF NOT EXISTS executions (
    id INTEGER PRIMARY KEY, context_id INTEGER, component_id TEXT, component_type TEXT,
    cache_key TEXT, parameters TEXT, state TEXT, cached_from INTEGER, started REAL, finished REAL);
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY, type TEXT, uri TEXT, properties TEXT, fingerprint TEXT, state TEXT);
CREATE TABLE IF NOT EXISTS events (
    execution_id INTEGER, artifact_id INTEGER, kind TEXT, name TEXT);
CREATE INDEX IF NOT EXISTS executions_by_key ON executions (cache_key, state);
CREATE TABLE IF NOT EXISTS store_info (key TEXT PRIMARY KEY, value TEXT);
"""

STORE_FORMAT = 2
"""The store's layout: 1, tables without versions (and, before manifests, no manifest column);
2, `store_info` (format, kerasadv version) and each artifact's format and writer."""

# Columns added to the artifacts table since format 1, in order (the migration adds what is missing).
_ARTIFACT_COLUMNS = (("manifest", "TEXT"), ("format", "INTEGER"), ("written_by", "TEXT"))


class MetadataStore:
    """A metadata store in one SQLite file (stdlib `sqlite3`).

    SQLite needs a local disk: the store stays beside the launcher even when the artifacts
    live on object storage (`Pipeline` puts a remote root's store in
    `filesystem.local_state_dir(root)`).

    Args:
        path: the database file, a local path (created with its tables when missing).

    Raises:
        StorageError: `path` is a URL (`gs://...`).
        KerasAdvError: the file is corrupt.

    Example:
    >>> store = MetadataStore(":memory:")
    >>> store.new_context("demo", "run-1")
    1
    """

    def __init__(self, path):
        if filesystem.is_remote(path):
            raise StorageError(
                f"The metadata store must be a local file, got {path!r}: SQLite cannot run on object storage. "
                "Expected a local path (Pipeline's default for a remote root is filesystem.local_state_dir(root))."
            )
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        try:
            self.db = sqlite3.connect(path, isolation_level=None)
            self.db.executescript(_SCHEMA)
            if path != ":memory:" and self.db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("quick_check failed")
        except sqlite3.DatabaseError as error:
            raise KerasAdvError(
                f"The metadata store {path} is corrupt ({error}); move it aside (the artifacts stay on disk, "
                "the next run re-executes every component) or restore a copy."
            ) from None
        self.cache_misses = []
        self.format, self.written_by = self._check_format(path)

    def _check_format(self, path):
        """`(format, kerasadv version)` recorded in the store; migrates an older store, refuses a newer one."""
        info = dict(self.db.execute("SELECT key, value FROM store_info"))
        found, written_by = int(info.get("format", 1)), info.get("kerasadv_version")
        if found > STORE_FORMAT:
            raise KerasAdvError(
                f"The metadata store {path} was written by kerasadv {written_by} in store format {found}; this "
                f"kerasadv {library_version()} reads store formats up to {STORE_FORMAT}. Expected kerasadv >= "
                f"{written_by}: upgrade (pip install -U kerasadv), or give this version another pipeline root."
            )
        if found < STORE_FORMAT:
            self._migrate()
            written_by = library_version()
        return STORE_FORMAT, written_by

    def _migrate(self):
        """Brings a format-1 store (or a new one) to `STORE_FORMAT`; what it holds stays, read as format 1."""
        with self._transaction():
            columns = [row[1] for row in self.db.execute("PRAGMA table_info(artifacts)")]
            for name, kind in _ARTIFACT_COLUMNS:
                if name not in columns:
                    self.db.execute(f"ALTER TABLE artifacts ADD COLUMN {name} {kind}")
            self.db.executemany(
                "INSERT OR REPLACE INTO store_info (key, value) VALUES (?, ?)",
                [("format", str(STORE_FORMAT)), ("kerasadv_version", library_version())],
            )

    def abandon_running(self):
        """Marks executions left `running` by a killed run as `abandoned` (call with the root locked)."""
        return self.db.execute(
            "UPDATE executions SET state = 'abandoned', finished = ? WHERE state = 'running'", (time.time(),)
        ).rowcount

    def abandon(self, execution_id):
        """Marks an execution interrupted (Ctrl-C) as `abandoned`, as a killed run's would be."""
        self._end(execution_id, "abandoned")

    def was_abandoned(self, execution_id, cache_key):
        """True when execution `execution_id` was left running by a killed run and had `cache_key`."""
        row = self.db.execute(
            "SELECT 1 FROM executions WHERE id = ? AND cache_key = ? AND state = 'abandoned'", (execution_id, cache_key)
        ).fetchone()
        return row is not None

    @contextlib.contextmanager
    def _transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def new_context(self, pipeline, run_id):
        return self.db.execute(
            "INSERT INTO contexts (pipeline, run_id, started) VALUES (?, ?, ?)", (pipeline, run_id, time.time())
        ).lastrowid

    def start_execution(self, context_id, component, cache_key, inputs, min_id=1):
        """Records a running execution and its input events; returns its id.

        The id is the next free one and at least `min_id`: a runner whose root holds artifact
        folders this store does not know (the store was deleted) passes the id after them, so
        a new execution never lands on an existing folder.
        """
        with self._transaction():
            next_id = self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM executions").fetchone()[0]
            execution_id = self.db.execute(
                "INSERT INTO executions (id, context_id, component_id, component_type, cache_key, parameters,"
                " state, started) VALUES (?, ?, ?, ?, ?, ?, 'running', ?)",
                (
                    max(next_id, min_id),
                    context_id,
                    component.id,
                    type(component).__name__,
                    cache_key,
                    json.dumps(component.parameters, sort_keys=True, default=str),
                    time.time(),
                ),
            ).lastrowid
            for name, artifact in inputs.items():
                self.db.execute("INSERT INTO events VALUES (?, ?, 'input', ?)", (execution_id, artifact.id, name))
        return execution_id

    def publish(self, execution_id, outputs, cached_from=None):
        """Marks the execution complete and records its output artifacts (sets their ids)."""
        with self._transaction():
            for name, artifact in outputs.items():
                if artifact.id is None:
                    manifest = build_manifest(artifact.uri, artifact.properties.get("external_files", ()))
                    artifact.id = self.db.execute(
                        "INSERT INTO artifacts (type, uri, properties, fingerprint, state, manifest, format,"
                        " written_by) VALUES (?, ?, ?, ?, 'live', ?, ?, ?)",
                        (
                            artifact.type_name,
                            artifact.uri,
                            json.dumps(artifact.properties, default=str),
                            artifact.fingerprint,
                            json.dumps(manifest),
                            ARTIFACT_FORMAT,
                            library_version(),
                        ),
                    ).lastrowid
                self.db.execute("INSERT INTO events VALUES (?, ?, 'output', ?)", (execution_id, artifact.id, name))
            self.db.execute(
                "UPDATE executions SET state = ?, cached_from = ?, finished = ? WHERE id = ?",
                ("cached" if cached_from else "complete", cached_from, time.time(), execution_id),
            )

    def fail(self, execution_id):
        """Marks an execution whose component raised as `failed`."""
        self._end(execution_id, "failed")

    def _end(self, execution_id, state):
        self.db.execute(
            "UPDATE executions SET state = ?, finished = ? WHERE id = ?", (state, time.time(), execution_id)
        )

    def cached_outputs(self, cache_key):
        """Outputs of the latest complete execution with `cache_key` whose files are intact.

        Every output is checked against the manifest recorded when it was published (sizes
        and SHA-256 of its files, and of the external files it vouches for); an artifact that
        was truncated, changed or deleted is not reused (`cache_misses` says why).
        """
        row = self.db.execute(
            "SELECT id FROM executions WHERE cache_key = ? AND state = 'complete' ORDER BY id DESC LIMIT 1",
            (cache_key,),
        ).fetchone()
        if row is None:
            return None, None
        outputs = self.outputs_of(row[0])
        for artifact in outputs.values():
            stored = self.db.execute("SELECT manifest FROM artifacts WHERE id = ?", (artifact.id,)).fetchone()[0]
            problem = (
                manifest_problem(artifact.uri, json.loads(stored))
                if stored
                else None
                if filesystem.isdir(artifact.uri)
                else f"{artifact.uri} is missing"
            )
            if problem:
                self.cache_misses.append(f"{artifact.type_name}#{artifact.id}: {problem}")
                return None, None
        return row[0], outputs

    def outputs_of(self, execution_id, kind="output"):
        """`{name: Artifact}` an execution output (or, `kind="input"`, read).

        Raises:
            KerasAdvError: an artifact was written in a newer format than this kerasadv reads.
        """
        rows = self.db.execute(
            "SELECT e.name, a.id, a.type, a.uri, a.properties, a.fingerprint, a.format, a.written_by FROM events e"
            " JOIN artifacts a ON a.id = e.artifact_id WHERE e.execution_id = ? AND e.kind = ?",
            (execution_id, kind),
        ).fetchall()
        artifacts = {}
        for name, id_, type_name, uri, properties, fingerprint, found, written_by in rows:
            check_artifact_format(found, written_by, f"{type_name}#{id_} at {uri}")
            artifacts[name] = Artifact(type_name, uri, json.loads(properties), id_, fingerprint)
        return artifacts

    def producer_of(self, artifact_id):
        """The first execution that output `artifact_id` (the one that really made it)."""
        return self.db.execute(
            "SELECT x.id, x.component_id, x.component_type, x.parameters FROM events e JOIN executions x"
            " ON x.id = e.execution_id WHERE e.artifact_id = ? AND e.kind = 'output' ORDER BY x.id LIMIT 1",
            (artifact_id,),
        ).fetchone()

    def lineage(self, artifact_id):
        """Every upstream step of an artifact: list of dicts (component, type, parameters, inputs)."""
        steps, queue, seen = [], [artifact_id], set()
        while queue:
            current = queue.pop(0)
            producer = self.producer_of(current)
            if producer is None or producer[0] in seen:
                continue
            seen.add(producer[0])
            inputs = self.outputs_of(producer[0], kind="input")
            steps.append(
                {
                    "execution": producer[0],
                    "component": producer[1],
                    "type": producer[2],
                    "parameters": json.loads(producer[3]),
                    "inputs": {n: f"{a.type_name}#{a.id}" for n, a in inputs.items()},
                }
            )
            queue += [a.id for a in inputs.values()]
        return steps

    def latest_artifact(self, type_name):
        row = self.db.execute(
            "SELECT id FROM artifacts WHERE type = ? ORDER BY id DESC LIMIT 1", (type_name,)
        ).fetchone()
        return row[0] if row else None

    def executions(self, context_id):
        return self.db.execute(
            "SELECT component_id, state FROM executions WHERE context_id = ? ORDER BY id", (context_id,)
        ).fetchall()
