"""The import contracts of `.importlinter`, checked over the installed names.

The repository keeps `components/` and `pipelines/` at the top and installs them as
`kerasadv.components` and `kerasadv.pipelines` (setup.cfg's `package_dir`), so the contracts
are checked on an installed copy: pip installs the project (no dependencies) into a temporary
folder and import-linter reads that tree.
"""

import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("importlinter")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, ".importlinter")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The project as pip installs it, in a folder of its own."""
    target = tmp_path_factory.mktemp("installed")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", target, REPO],
        check=True,
        capture_output=True,
    )
    return target


def lint_imports(tree, cwd):
    lint = shutil.which("lint-imports") or os.path.join(os.path.dirname(sys.executable), "lint-imports")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([lint, "--no-cache", CONFIG], cwd=cwd, env=env, capture_output=True, text=True)


def test_contracts_are_kept(installed, tmp_path):
    result = lint_imports(installed, tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    "module, line, contract",
    [
        ("kerasadv/attacks/wrong_way.py", "import kerasadv.components.evaluator", "never back"),
        ("kerasadv/components/wrong_way.py", "import kerasadv.pipelines.quickstart", "never back"),
        ("kerasadv/orchestration/wrong_way.py", "import keras", "imports no ML module"),
        ("kerasadv/components/trainer_helper.py", "import kerasadv.components.evaluator", "independent"),
        ("kerasadv/attacks/cycle_a.py", "import kerasadv.attacks.cycle_b", "No import cycles"),
    ],
)
def test_a_wrong_way_import_breaks_a_contract(installed, tmp_path, module, line, contract):
    tree = tmp_path / "tree"
    shutil.copytree(installed, tree)
    (tree / module).write_text(line + "\n")
    if module.endswith("cycle_a.py"):
        (tree / "kerasadv/attacks/cycle_b.py").write_text("import kerasadv.attacks.cycle_a\n")
    result = lint_imports(tree, tmp_path)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts")[-1]
    assert contract in broken, result.stdout[-4000:]


# Writes that are not artifacts, each with its reason; everything else goes through the writer.
NOT_ARTIFACTS = {
    "kerasadv/orchestration/writer.py": "the writer itself",
    "kerasadv/orchestration/filesystem.py": "the writer's filesystem seam (its local rename and copy)",
    "kerasadv/beam/cluster.py": "the logs of a local Dask cluster's processes, not an artifact",
    "kerasadv/orchestration/lock.py": "the run lock's file, beside the launcher",
    "kerasadv/data/image_folder.py": "the extraction cache of a data archive (~/.cache), not an artifact",
    "kerasadv/serving/check.py": "a temporary file handed to the servability check's child process",
    "kerasadv/training/wrapper.py": "Keras's Model.save to the user's own path, not an artifact",
}
WRITE_CALLS = {"os": {"rename", "replace"}, "shutil": {"copy", "copyfile", "copytree", "move"}, "json": {"dump"}}
WRITE_METHODS = {"to_csv", "savefig", "savez", "savez_compressed", "save"}


def _direct_writes(path):
    """`(line, call)` of the file writes in a module that bypass `orchestration.writer`.

    A call whose first argument is the writer's temporary path (`tmp`, from `atomic_path` or
    `write_with`) is the writer at work and is not counted.
    """
    import ast

    for node in ast.walk(ast.parse(open(path).read())):
        if not isinstance(node, ast.Call):
            continue
        func, first = node.func, ast.unparse(node.args[0]) if node.args else ""
        if first == "tmp":
            continue
        if isinstance(func, ast.Name) and func.id == "open" and len(node.args) > 1:
            mode = node.args[1]
            if isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax"):
                yield node.lineno, ast.unparse(node)
        elif isinstance(func, ast.Attribute):
            owner = ast.unparse(func.value)
            if func.attr in WRITE_CALLS.get(owner, ()) or (
                func.attr in WRITE_METHODS and owner not in {"self", "sections"}
            ):
                yield node.lineno, ast.unparse(node)


def test_artifacts_are_written_through_the_one_writer():
    found = []
    for folder in ("kerasadv", "components", "pipelines"):
        for root, _, names in os.walk(os.path.join(REPO, folder)):
            for name in names:
                path = os.path.join(root, name)
                relative = os.path.relpath(path, REPO)
                if name.endswith(".py") and relative not in NOT_ARTIFACTS:
                    found += [f"{relative}:{line}: {call}" for line, call in _direct_writes(path)]
    assert not found, "write these through kerasadv.orchestration.writer:\n" + "\n".join(found)
