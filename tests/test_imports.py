"""`import kerasadv`: light, lazy subpackages, the version from the installed metadata, TensorFlow only."""

import importlib.metadata
import json
import os
import subprocess
import sys

import pytest

import kerasadv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code, **env):
    """Runs `code` in a fresh interpreter from the repository root; returns the finished process."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    environment = {k: v for k, v in environment.items() if v is not None}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True)


def test_import_kerasadv_imports_neither_keras_nor_tensorflow():
    done = run_python(
        "import sys, kerasadv\n"
        "print(sorted(m for m in ('keras', 'tensorflow', 'numpy') if m in sys.modules))\n"
        "kerasadv.attacks\n"
        "print('tensorflow' in sys.modules, 'kerasadv.attacks' in sys.modules)"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "True True"]


def test_dir_lists_every_library_module_and_subpackage_on_disk():
    library = os.path.join(ROOT, "kerasadv")
    on_disk = {
        name[:-3] if name.endswith(".py") else name
        for name in os.listdir(library)
        if (name.endswith(".py") and name != "__init__.py")
        or os.path.isfile(os.path.join(library, name, "__init__.py"))
    }
    assert on_disk <= set(dir(kerasadv)), f"not exposed lazily: {sorted(on_disk - set(dir(kerasadv)))}"
    for name in sorted(on_disk):
        assert getattr(kerasadv, name).__name__ == f"kerasadv.{name}"


def test_components_and_pipelines_are_explicit_imports_and_unknown_names_fail():
    done = run_python(
        "import kerasadv\nfor name in ('components', 'pipelines', 'atacks'):\n    print(hasattr(kerasadv, name))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "False"]


def test_the_version_is_the_installed_metadata_written_once_in_setup_cfg():
    assert kerasadv.__version__ == importlib.metadata.version("kerasadv")
    source = open(os.path.join(ROOT, "kerasadv", "__init__.py")).read()
    assert "__version__ =" not in source  # no second literal to keep in step with setup.cfg


@pytest.mark.parametrize("backend", ["jax", "torch", "numpy"])
def test_another_keras_backend_is_refused_at_import_with_the_fix(backend):
    done = run_python("import kerasadv", KERAS_BACKEND=backend)
    assert done.returncode != 0
    assert "BackendError" in done.stderr and f"got {backend!r}" in done.stderr
    assert "KERAS_BACKEND=tensorflow" in done.stderr


def test_a_backend_set_in_keras_json_is_refused_before_keras_loads_it(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    done = run_python("import kerasadv.attacks", KERAS_HOME=str(tmp_path), KERAS_BACKEND=None)
    assert done.returncode != 0
    assert "BackendError" in done.stderr and "got 'jax'" in done.stderr  # not Keras's "No module named 'jax'"


def test_tensorflow_is_accepted_however_it_is_named():
    done = run_python("import kerasadv.attacks; print(kerasadv.configured_backend())", KERAS_BACKEND="tensorflow")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "tensorflow"
