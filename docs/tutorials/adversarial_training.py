"""# Tutorial 2: adversarial training inside `fit`

Wrap a classifier in a training recipe and train it with Keras's own `fit`, with kerasadv's
callbacks beside Keras's: the attack radius ramped by `EpsilonSchedule`, robust accuracy
logged every epoch by `RobustAccuracy` and watched by `EarlyStopping`. Then compare the robust
model with a plain one under PGD, and save and reload it as an ordinary `.keras` file.

Run it from the repository root (about a minute on two CPU cores):

```bash
python3 docs/tutorials/adversarial_training.py
```
"""

# %% [markdown]
# ## Data and two classifiers
#
# Both classifiers start from the same weights: one trains normally, the other adversarially,
# for the same number of epochs.

# %%
import os
import tempfile

import keras

from kerasadv import attacks, callbacks, data, io, models, training

keras.utils.set_random_seed(0)
train_ds, info = data.load("fashion_mnist", split="train", num_examples=3000, batch_size=64, shuffle=True)
test_ds, _ = data.load("fashion_mnist", split="test", num_examples=400, batch_size=200)
eps = 0.1  # Linf radius in [0, 1] pixel units: the usual one for (Fashion-)MNIST
epochs = 3

plain = models.simple_cnn(info.image_shape, info.num_classes)
classifier = models.simple_cnn(info.image_shape, info.num_classes)
classifier.set_weights(plain.get_weights())

training.compile_classifier(plain, keras.optimizers.Adam(1e-3))
plain.fit(train_ds, epochs=epochs, verbose=2)

# %% [markdown]
# ## The recipe: fast adversarial training
#
# `AdversarialModel` replaces a fraction of every training batch with adversarial examples made
# on the fly against the current weights (`adv_ratio=1.0`: all of it). Its attack here is fast
# AT's (Wong et al., 2020): FGSM from a random start with a step of 1.25 eps. The wrapper is a
# `keras.Model`: `compile` and `fit` as usual.

# %%
robust = training.AdversarialModel(classifier, training.fast_at_attack(eps, seed=0), adv_ratio=1.0)
training.compile_classifier(robust, keras.optimizers.Adam(1e-3))
print(robust.recipe_config())  # the recipe is a value too: training.wrap(classifier, this config)

# %% [markdown]
# ## Callbacks
#
# `EpsilonSchedule` assigns the wrapper's `attack_eps` variable at each epoch's start (no
# retracing; your attack object is untouched). `RobustAccuracy` writes `val_robust_accuracy`
# into the epoch's logs, so Keras callbacks listed *after* it can monitor it.

# %%
monitor = attacks.PGD(eps, steps=5, seed=0)
history = robust.fit(
    train_ds,
    epochs=epochs,
    verbose=2,
    callbacks=[
        callbacks.EpsilonSchedule(callbacks.linear_ramp(eps / 2, eps, 2)),
        callbacks.RobustAccuracy(monitor, test_ds),
        keras.callbacks.EarlyStopping("val_robust_accuracy", mode="max", patience=2, restore_best_weights=True),
    ],
)
print("eps per epoch:", [round(float(e), 3) for e in history.history["eps"]])
print("robust accuracy per epoch:", [round(float(a), 3) for a in history.history["val_robust_accuracy"]])
assert abs(history.history["eps"][-1] - eps) < 1e-6, "the radius ramps up to eps"

# %% [markdown]
# ## Robust versus plain, under a stronger attack
#
# PGD-10 with a random start, on the same 400 test images.

# %%
pgd = attacks.PGD(eps, steps=10, seed=0)
plain_result = attacks.evaluate_attack(pgd, plain, test_ds, progress=False)
robust_result = attacks.evaluate_attack(pgd, classifier, test_ds, progress=False)
for name, result in (("plain", plain_result), ("robust", robust_result)):
    print(f"{name:7s} clean {result['clean_accuracy']:.3f}  PGD-10 {result['adversarial_accuracy']:.3f}")
assert robust_result["adversarial_accuracy"] > plain_result["adversarial_accuracy"] + 0.15, "AT buys robustness"

# %% [markdown]
# ## Saving: the plain classifier, servable
#
# `save` on the wrapper writes the classifier, not the wrapper, so the file loads anywhere
# Keras does (safe mode, no custom training code). `kerasadv.io.load_model` loads it in safe
# mode and names the file in its error when it cannot.

# %%
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "robust.keras")
    robust.save(path)
    reloaded = io.load_model(path)
    assert not isinstance(reloaded, training.TrainingWrapper), "the saved model is the plain classifier"
    again = attacks.evaluate_attack(pgd, reloaded, test_ds, progress=False)
    assert again["adversarial_accuracy"] == robust_result["adversarial_accuracy"], "same weights, same result"
    print(f"reloaded {type(reloaded).__name__}: PGD-10 {again['adversarial_accuracy']:.3f}")
