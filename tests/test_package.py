"""The package as users install it: setup.cfg lists every package on disk, and the wheel imports whole."""

import configparser
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "kerasadv", "components", "pipelines")


def setup_options():
    """`(packages, package_dir)` of setup.cfg's [options]: the hand-written list and its folder mapping."""
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "setup.cfg"))
    options = config["options"]
    mapping = dict(line.split(" = ") for line in options["package_dir"].strip().splitlines())
    return options["packages"].split(), {package: folder.strip() for package, folder in mapping.items()}


def packages_on_disk(package_dir):
    """Every folder with an `__init__.py` under kerasadv/ and the mapped folders, as installed names."""
    roots = {"kerasadv": "kerasadv", **package_dir}
    found = set()
    for package, folder in roots.items():
        for path, _, files in os.walk(os.path.join(ROOT, folder)):
            relative = os.path.relpath(path, os.path.join(ROOT, folder))
            if "__init__.py" in files and "__pycache__" not in relative:
                found.add(package if relative == "." else f"{package}.{relative.replace(os.sep, '.')}")
    return found


def test_setup_cfg_lists_every_package_on_disk_and_no_other():
    packages, package_dir = setup_options()
    on_disk = packages_on_disk(package_dir)
    assert not on_disk - set(packages), f"packages missing from setup.cfg: {sorted(on_disk - set(packages))}"
    assert not set(packages) - on_disk, f"setup.cfg lists packages not on disk: {sorted(set(packages) - on_disk)}"


@pytest.mark.slow
def test_the_wheel_installs_into_a_fresh_venv_and_imports_every_package(tmp_path):
    source = tmp_path / "src"  # a copy: building writes build/ and *.egg-info beside the sources
    source.mkdir()
    for name in SOURCES:
        path = os.path.join(ROOT, name)
        if os.path.isdir(path):
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run(
        [*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", source], check=True
    )
    (wheel,) = (tmp_path / "dist").glob("kerasadv-*.whl")
    packages, _ = setup_options()
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = {os.path.dirname(n).replace("/", ".") for n in archive.namelist() if n.endswith("/__init__.py")}
    assert set(packages) <= in_wheel, f"not in the wheel: {sorted(set(packages) - in_wheel)}"

    venv = tmp_path / "venv"  # the system site-packages provide TensorFlow and the other dependencies
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([*pip, "--python", python, "install", "-q", "--no-deps", "--ignore-installed", wheel], check=True)
    code = (
        "import importlib, sys\n"
        f"for name in {packages!r}:\n"
        "    module = importlib.import_module(name)\n"
        f"    assert module.__file__.startswith({str(venv)!r}), (name, module.__file__)\n"
        "import kerasadv\n"
        "print(kerasadv.__version__)"
    )
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    done = subprocess.run([python, "-c", code], cwd=tmp_path, env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == wheel.name.split("-")[1]  # the version comes from the metadata
