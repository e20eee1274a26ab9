"""The documentation site: it builds with `mkdocs build --strict`, its tutorials run, its API pages are complete.

The site is MkDocs (Material) + mkdocstrings (`mkdocs.yml`, pages in `docs/`); the tutorials are
scripts in `docs/tutorials/` rendered into their pages, so the code a reader sees is the code
these tests execute. Needs the `docs` extra; skipped without it.
"""

import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "docs" / "tutorials"
TUTORIAL_SCRIPTS = ["attack_a_model", "adversarial_training", "pipeline_end_to_end", "reading_a_study_report"]
NEEDS_FASHION_MNIST = {"attack_a_model", "adversarial_training", "pipeline_end_to_end"}
TUTORIAL_TIMEOUT_S = 300  # each runs in about a minute on 2 cores
FAMILIES = [
    "attacks",
    "training",
    "certify",
    "callbacks",
    "layers",
    "analysis",
    "models",
    "data",
    "evaluation",
    "reporting",
    "io",
    "serving",
    "orchestration",
    "beam",
]
COMPONENTS = ROOT / "components"  # installed as kerasadv.components
STUDIES = sorted(p.parent.name for p in (ROOT / "pipelines").glob("*/__main__.py"))  # kerasadv.pipelines.<study>


def _env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg", NO_MKDOCS_2_WARNING="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def _fashion_mnist_available():
    folders = [Path("/usr/share/datasets/fashion-mnist"), Path.home() / ".keras" / "datasets" / "fashion-mnist"]
    return any((folder / "t10k-labels-idx1-ubyte.gz").is_file() for folder in folders)


def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    pytest.importorskip("material")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{log[-6000:]}"
    assert "WARNING" not in log, log[-6000:]
    api = (site / "api" / "attacks.html").read_text()
    assert 'id="kerasadv.attacks.PGD"' in api, "the attacks page renders the PGD entry"
    assert "Madry" in api, "with its paper"
    trainer = (site / "api" / "components" / "trainer.html").read_text()
    assert 'id="kerasadv.components.trainer.Trainer"' in trainer, "components render under their public names"
    tutorial = (site / "tutorials" / "attack_a_model.html").read_text()
    assert "evaluate_attack" in tutorial and "&lt;!-- tutorial" not in tutorial, "the script is rendered into the page"
    orchestration = (site / "api" / "orchestration.html").read_text()
    for name in ("writer.atomic_path", "BaseExecutor", "executor.output"):
        assert f'id="kerasadv.orchestration.{name}"' in orchestration, f"the orchestration page renders {name}"
    studies = (site / "api" / "pipelines.html").read_text()
    for study in STUDIES:
        assert f'id="kerasadv.pipelines.{study}.components"' in studies, f"the pipelines page renders {study}"


@pytest.mark.parametrize("name", TUTORIAL_SCRIPTS)
def test_tutorial_runs(name):
    if name in NEEDS_FASHION_MNIST and not _fashion_mnist_available():
        pytest.skip("Fashion-MNIST idx files not installed: apt-get install dataset-fashion-mnist")
    result = subprocess.run(
        [sys.executable, str(TUTORIALS / f"{name}.py")],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TUTORIAL_TIMEOUT_S,
    )
    assert result.returncode == 0, f"{name}.py failed:\n{(result.stdout + result.stderr)[-6000:]}"


def test_every_tutorial_is_tested_and_in_the_site():
    scripts = sorted(p.stem for p in TUTORIALS.glob("*.py"))
    assert scripts == sorted(TUTORIAL_SCRIPTS), "a tutorial script is missing from TUTORIAL_SCRIPTS (or was removed)"
    assert not any(name.startswith("test_") for name in scripts), "pytest would collect a tutorial as a test module"
    nav = (ROOT / "mkdocs.yml").read_text()
    for name in scripts:
        page = TUTORIALS / f"{name}.md"
        assert f"<!-- tutorial: {name}.py -->" in page.read_text(), f"{page} does not render {name}.py"
        assert f"tutorials/{name}.md" in nav, f"{name} is not in mkdocs.yml's nav"


@pytest.mark.parametrize("family", FAMILIES)
def test_api_page_lists_every_public_name(family):
    if family == "beam":
        pytest.importorskip("apache_beam")
    module = importlib.import_module(f"kerasadv.{family}")
    page = (ROOT / "docs" / "api" / f"{family}.md").read_text()
    rendered = set(re.findall(rf"^::: kerasadv\.{family}\.(\w+)", page, flags=re.MULTILINE))
    missing = sorted(set(module.__all__) - rendered)
    assert not missing, f"docs/api/{family}.md lacks {missing}: add a `::: kerasadv.{family}.NAME` block"
    # Besides the exported names a page may render a submodule, or names in one, by their module's
    # name (`::: kerasadv.analysis.transfer`, `::: kerasadv.data.tfrecords.first_examples`).
    unknown = sorted(name for name in rendered - set(module.__all__) if not _is_submodule(module, name))
    assert not unknown, (
        f"docs/api/{family}.md renders {unknown}, which kerasadv.{family}.__all__ does not export "
        "and which are not its submodules"
    )


def _is_submodule(package, name):
    return hasattr(package, "__path__") and importlib.util.find_spec(f"{package.__name__}.{name}") is not None


def test_every_component_and_study_has_an_api_page():
    nav = (ROOT / "mkdocs.yml").read_text()
    names = sorted(p.stem for p in COMPONENTS.glob("*.py") if p.stem != "__init__")
    for name in names:
        page = ROOT / "docs" / "api" / "components" / f"{name}.md"
        assert page.is_file(), f"components/{name}.py has no API page {page.relative_to(ROOT)}"
        assert f"::: kerasadv.components.{name}" in page.read_text(), f"{page} does not render the module"
        assert f"api/components/{name}.md" in nav, f"{page.relative_to(ROOT)} is not in mkdocs.yml's nav"
    pages = {p.stem for p in (ROOT / "docs" / "api" / "components").glob("*.md")}
    assert pages <= set(names), f"API pages of components that no longer exist: {sorted(pages - set(names))}"
    studies = (ROOT / "docs" / "api" / "pipelines.md").read_text()
    assert STUDIES, "no study package found under pipelines/"
    for study in STUDIES:
        assert f"::: kerasadv.pipelines.{study}.components" in studies, f"docs/api/pipelines.md lacks {study}"
