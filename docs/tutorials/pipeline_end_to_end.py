"""# Tutorial 3: a pipeline end to end

The quick start's shape at toy size: ingest Fashion-MNIST, train a baseline, attack it, train a
robust model against fresh attacks on itself, evaluate both under live attacks, push the robust
one for TF Serving only if it beats the baseline, and write a report. Then run the same pipeline
again (everything comes from the cache) and ask the metadata store where the pushed model came
from.

Run it from the repository root (about a minute on two CPU cores):

```bash
python3 docs/tutorials/pipeline_end_to_end.py
```

`python3 pipelines/quickstart.py` is the full-size version of this file.
"""

# %% [markdown]
# ## Components
#
# Each component is a spec (typed inputs, outputs and parameters, checked when it is built)
# plus an executor. Outputs are channels that later components take as inputs; the pipeline
# orders the components by those edges.

# %%
import json
import os
import shutil
import tempfile

from kerasadv import attacks, training
from kerasadv.components.attack_gen import AttackGen
from kerasadv.components.evaluator import Evaluator
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.pusher import Pusher
from kerasadv.components.report import Report
from kerasadv.components.trainer import Trainer
from kerasadv.orchestration import MetadataStore, Pipeline

eps = 0.1  # Linf, [0, 1] pixel units


def create_pipeline(root, serving_dir, rerun=()):
    gen = ImageExampleGen(source="fashion_mnist", num_train=2000, num_eval=300, seed=0)
    examples = gen.outputs["examples"]
    baseline = Trainer(component_id="BaselineTrainer", examples=examples, model="simple_cnn", epochs=2)
    adversarial = AttackGen(
        model=baseline.outputs["model"],
        examples=examples,
        attack={"class_name": "FGSM", "config": {"eps": eps}},
        splits="eval",
    )
    # The robust model fine-tunes the baseline against fresh attacks on itself: fast AT, as a value.
    recipe = {
        "class_name": "AdversarialModel",
        "config": {"attack": attacks.serialize(training.fast_at_attack(eps)), "adv_ratio": 1.0},
    }
    robust = Trainer(
        component_id="RobustTrainer",
        examples=examples,
        base_model=baseline.outputs["model"],
        adversarial_training=recipe,
        epochs=2,
    )
    live = [{"class_name": "FGSM", "config": {"eps": eps}}, {"class_name": "PGD", "config": {"eps": eps, "steps": 10}}]
    protocol = dict(
        examples=examples, attacks=live, robust_examples=200, self_check_examples=32, eps_sweep="0.0,0.05,0.1"
    )
    evaluate_baseline = Evaluator(
        component_id="EvaluateBaseline",
        model=baseline.outputs["model"],
        adversarial_examples=adversarial.outputs["adversarial_examples"],
        **protocol,
    )
    evaluate_robust = Evaluator(
        component_id="EvaluateRobust",
        model=robust.outputs["model"],
        adversarial_examples=adversarial.outputs["adversarial_examples"],
        baseline_evaluation=evaluate_baseline.outputs["evaluation"],  # same attacks, examples and seed
        robust_margin=0.05,  # blessed only if robust accuracy beats the baseline's by 0.05
        **protocol,
    )
    push = Pusher(
        model=robust.outputs["model"],
        blessing=evaluate_robust.outputs["blessing"],
        examples=examples,
        serving_dir=serving_dir,
        model_name="tutorial",
    )
    report = Report(
        baseline_evaluation=evaluate_baseline.outputs["evaluation"],
        candidate_evaluation=evaluate_robust.outputs["evaluation"],
        pushed_model=push.outputs["pushed_model"],
    )
    components = [gen, baseline, adversarial, robust, evaluate_baseline, evaluate_robust, push, report]
    return Pipeline("tutorial", root, components, rerun=rerun)


# %% [markdown]
# ## Run it
#
# Every executor writes into a staging directory that becomes the artifact only when it
# succeeds; the SQLite metadata store records executions, artifacts and the events between them.

# %%
workdir = tempfile.mkdtemp(prefix="kerasadv_tutorial_")
root, serving_dir = os.path.join(workdir, "pipeline_root"), os.path.join(workdir, "saved_models")
result = create_pipeline(root, serving_dir).run()
assert set(result.summary["state"]) == {"complete"}

# %% [markdown]
# ## What it measured
#
# Each Evaluator writes `evaluation.json` (metrics, live-attack rows, self-checks, blessing
# checks); the Pusher records whether and where it pushed.


# %%
def evaluation(component_id):
    with open(result.outputs[component_id]["evaluation"].path("evaluation.json")) as f:
        return json.load(f)


base, robust = evaluation("EvaluateBaseline"), evaluation("EvaluateRobust")
print(json.dumps(robust["metrics"], indent=1, sort_keys=True)[:1500])
for check in robust["checks"]:
    verdict = "pass" if check["passed"] else "FAIL"
    print(f"{verdict}  {check['check']}: {check['value']} (baseline {check.get('baseline')})")

pushed = result.outputs["Pusher"]["pushed_model"].properties
print("pushed:", pushed)
blessed = result.outputs["EvaluateRobust"]["blessing"].properties["blessed"]
assert pushed["pushed"] == blessed, "the Pusher pushes exactly the blessed model"
assert blessed, "fast AT beats the baseline's robust accuracy by the margin"
version_dir = pushed["path"]
assert os.path.isfile(os.path.join(version_dir, "saved_model.pb")), "a complete TF Serving version"

report = result.outputs["Report"]["report"]
with open(report.path("report.md")) as f:
    page = f.read()
print(page[: page.index("## Self-checks")])  # the accuracy, sweep and live-attack tables

# %% [markdown]
# ## Run it again: the cache
#
# A component is reused when its type, parameters, input fingerprints and code (its module,
# its executor's and the library modules in its `CODE_MODULES`) are unchanged; changing one
# parameter re-runs exactly that component and its descendants.

# %%
again = create_pipeline(root, serving_dir).run()  # prints its summary table
assert set(again.summary["state"]) == {"cached"}, f"not reused: {again.store.cache_misses}"  # the reasons, if any

# %% [markdown]
# To re-run a step without changing anything, name its component id in `rerun` (the
# pipelines' `--rerun` flag): it and everything downstream of it run again, the rest comes
# from the cache. An id that is not a component's is a `SpecError` when the pipeline is built.

# %%
rerun = create_pipeline(root, serving_dir, rerun=["Report"]).run()
states = dict(zip(rerun.summary["component"], rerun.summary["state"]))
assert states.pop("Report") == "complete" and set(states.values()) == {"cached"}, states

# %% [markdown]
# ## Lineage
#
# Which data, attack and parameters produced the pushed model? The same question as
# `python -m kerasadv.orchestration.lineage --pipeline_root <root>`.

# %%
store = MetadataStore(os.path.join(root, "metadata.sqlite"))
steps = store.lineage(store.latest_artifact("PushedModel"))
for step in steps:
    print(f"{step['component']:17s} {json.dumps(step['parameters'], sort_keys=True)[:110]}")
components = {step["component"] for step in steps}
assert {"Pusher", "RobustTrainer", "BaselineTrainer", "ImageExampleGen"} <= components

# %% [markdown]
# The artifacts stay under `workdir` until you remove it; the tutorial cleans up after itself.

# %%
shutil.rmtree(workdir)
