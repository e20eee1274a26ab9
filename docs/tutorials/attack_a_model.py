"""# Tutorial 1: attack a model

Train a small classifier on Fashion-MNIST, attack it with FGSM and PGD, measure what the attacks
do over a data set, sweep the radius, and carry one attack configuration around as a value.

Run it from the repository root (it takes well under a minute on two CPU cores):

```bash
python3 docs/tutorials/attack_a_model.py
```

It needs Fashion-MNIST's idx files (`apt-get install dataset-fashion-mnist`); CI runs it.
"""

# %% [markdown]
# ## A model and its data
#
# `kerasadv.data.load` gives batches of `(float32 images in [0, 1], int32 labels)`; a stratified,
# seeded subset keeps this fast. `kerasadv.models` builders take [0, 1] pixels and end in logits.

# %%
import json

import keras
import numpy as np

from kerasadv import attacks, data, models, training

keras.utils.set_random_seed(0)
train_ds, info = data.load("fashion_mnist", split="train", num_examples=3000, batch_size=64, shuffle=True)
test_ds, _ = data.load("fashion_mnist", split="test", num_examples=500, batch_size=250)
print(info.class_names, info.image_shape)

model = models.simple_cnn(info.image_shape, info.num_classes)
training.compile_classifier(model, keras.optimizers.Adam(1e-3))
model.fit(train_ds, epochs=2, verbose=2)

# %% [markdown]
# ## One attack protocol
#
# Every attack is a configured object called as `attack(model, x, y) -> x_adv`. The radius `eps`
# is in [0, 1] pixel units; the model runs with `training=False`, so attacks never touch
# BatchNorm statistics. Fashion-MNIST's usual Linf radius is 0.1.

# %%
x, y = data.to_arrays(test_ds)
eps = 0.1
x_fgsm = attacks.FGSM(eps=eps)(model, x, y)
x_pgd = attacks.PGD(eps=eps, steps=10, seed=0)(model, x, y)

linf = float(np.max(np.abs(x_pgd.numpy() - x)))
print(f"largest PGD perturbation: {linf:.4f} (eps {eps})")
assert linf <= eps + 1e-6, "PGD stays inside its Linf ball"
assert x_pgd.numpy().min() >= 0.0 and x_pgd.numpy().max() <= 1.0, "adversarial images stay valid pixels"

# %% [markdown]
# ## What the attacks do over a data set
#
# `attacks.evaluate_attack` streams an attack over a batched data set (bounded memory, a
# progress bar when asked) and returns clean and adversarial accuracy, the success rate and
# the perturbation norms.

# %%
fgsm_result = attacks.evaluate_attack(attacks.FGSM(eps), model, test_ds, progress=False)
pgd_result = attacks.evaluate_attack(attacks.PGD(eps, steps=10, seed=0), model, test_ds, progress=False)
for name, result in (("FGSM", fgsm_result), ("PGD-10", pgd_result)):
    print(
        f"{name:6s} clean {result['clean_accuracy']:.3f}  adversarial {result['adversarial_accuracy']:.3f}"
        f"  success {result['success_rate']:.3f}  mean Linf {result['mean_linf']:.4f}"
    )

clean = pgd_result["clean_accuracy"]
assert clean > 0.6, f"the model learned something: clean accuracy {clean:.3f}"
assert pgd_result["adversarial_accuracy"] < clean - 0.3, "PGD breaks an undefended model"
assert pgd_result["adversarial_accuracy"] <= fgsm_result["adversarial_accuracy"] + 0.02, "PGD is at least FGSM"

# %% [markdown]
# ## Sweeping the radius
#
# `eps` travels as a tensor, so a sweep does not retrace the compiled attack. `eps_sweep`
# returns a pandas DataFrame, one row per radius.

# %%
sweep = attacks.eps_sweep(attacks.FGSM(0.0), model, test_ds, [0.0, 0.01, 0.03, 0.1, 0.3])
print(sweep.to_string(index=False))
accuracies = sweep["adversarial_accuracy"].to_numpy()
assert abs(accuracies[0] - clean) < 1e-6, "eps = 0 gives the clean accuracy"
assert accuracies[-1] < accuracies[0], "a larger radius costs accuracy"

# %% [markdown]
# ## Attacks are values
#
# Like Keras optimizers, an attack has a complete, JSON-safe config. `attacks.get` takes a name
# (with its defaults), a config dict, its JSON text or an instance, so the same attack travels
# into a pipeline parameter, a cache key, the lineage and a report.

# %%
attack = attacks.get({"class_name": "PGD", "config": {"eps": eps, "steps": 10, "seed": 0}})
config = attacks.serialize(attack)
print(json.dumps(config))
again = attacks.get(json.dumps(config))
assert again == attack, "a config rebuilds an equal attack"
np.testing.assert_array_equal(again(model, x, y).numpy(), x_pgd.numpy())  # same config and seed, same examples
print("registered names:", ", ".join(attacks.ATTACK_NAMES))
