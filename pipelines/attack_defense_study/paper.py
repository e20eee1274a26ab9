"""Paper 001, "Adversarial Networks" (a base CNN on CIFAR-10): its tables and figures, our protocol's differences."""

from kerasadv.reporting.paper import paper_rows

TITLE = "Adversarial attacks and defenses on a base CNN (CIFAR-10): ours beside the paper"

# Table 1: the base model's accuracy (%) under FGSM and PGD on the correctly classified test images, by eps.
TABLE1_EPS = (0.001, 0.01, 0.05, 0.1, 0.3, 0.5)
TABLE1_PAPER = {
    "FGSM": (84.61, 54.05, 22.0, 21.74, 20.57, 13.77),
    "PGD": (27.75, 12.47, 7.71, 7.75, 7.79, 7.89),
}
# Table 2: adversarial training, (attack, defense): the paper's % at eps 0.01 and 0.05.
TABLE2_EPS = (0.01, 0.05)
TABLE2_PAPER = {
    ("FGSM", "baseline"): (47.95, 7.31),
    ("FGSM", "fgsm_trained"): (68.53, 43.15),
    ("FGSM", "pgd_trained"): (68.74, 16.92),
    ("PGD", "baseline"): (57.99, 0.0),
    ("PGD", "fgsm_trained"): (88.32, 3.55),
    ("PGD", "pgd_trained"): (91.28, 13.33),
}
DEFENSES = {"baseline": "Without defense", "fgsm_trained": "AT vs FGSM", "pgd_trained": "AT vs PGD"}
NOISE = {"baseline": "base model", "noise_first_conv": "noise after conv1", "noise_dense": "noise between dense"}
"""The models of Figures 6 and 7 (the Gaussian-noise defense) and their names in the tables."""

# key of our finding | the finding | the paper's figure
PAPER = paper_rows("""
    base_accuracy | base model test accuracy (%) | 87.75
    table1_FGSM_0.05 | FGSM eps 0.05 on correct (%), Table 1 | 22.0
    table1_PGD_0.05 | PGD eps 0.05 on correct (%), Table 1 | 7.71
    noise_first_conv_minus_base | noise after conv1 minus base, FGSM accuracy (points, mean over eps; Fig. 6)
        | slightly below 0
    noise_dense_minus_base | noise between dense minus base (points; Fig. 7) | slightly below 0 (similar)
    latent_accuracy_clean | contrastive 1-NN accuracy, clean | about 0.80
    latent_accuracy_fgsm | contrastive 1-NN accuracy under FGSM eps 0.01 | similar to no defense (Table 2: 0.48)
    latent_mean_distance_to_1nn_clean | mean latent distance to the 1-NN, clean | greater than attacked
    latent_mean_distance_to_1nn_attacked | mean latent distance to the 1-NN, attacked | smaller than clean
    certified_input_noise_025_r0.25 | input-noise model (sigma 0.25) smoothed: certified accuracy at L2 r = 0.25
        | not in the paper (Cohen et al. 2019, ResNet-110: 0.60)
    certified_input_noise_025_r0.5 | the same at r = 0.5 | not in the paper (Cohen et al.: 0.43)
    certified_input_noise_025_r0.75 | the same at r = 0.75 | not in the paper (Cohen et al.: 0.27)
    certified_input_noise_012_r0.25 | input-noise model (sigma 0.12) smoothed: certified accuracy at r = 0.25
        | not in the paper (Cohen et al. 2019, sigma 0.12: 0.59)
    certified_noise_first_conv_r0 | noise after conv1, smoothed at input sigma 0.05: certified accuracy at r = 0
        | not in the paper (its radius cannot exceed 0.19 at n = 100,000)
    certified_noise_dense_r0 | noise between dense, smoothed at input sigma 0.05: certified accuracy at r = 0
        | not in the paper (its radius cannot exceed 0.19 at n = 100,000)
""")

# Randomized smoothing (Cohen, Rosenfeld & Kolter 2019), the reference figures for context: CIFAR-10,
# ResNet-110 trained and certified at sigma 0.25 (0.12 for the 0.59), every 20th of the 10,000 test
# images (500), n0 = 100, n = 100,000, alpha = 0.001; source: locuslab/smoothing,
# analysis/markdown/vary_noise_cifar10 ("approximate certified accuracy").
COHEN_MODEL = "Cohen et al. 2019: ResNet-110, input noise sigma 0.25"
COHEN_SIGMA_025 = {0.25: 0.60, 0.5: 0.43, 0.75: 0.27, 1.0: 0.00}
CERTIFIED_NOTE = (
    "Certified accuracy: the share of the certified eval images whose smoothed prediction is correct with a "
    "certified L2 radius >= r (pixel units of [0, 1] images; randomized smoothing, Cohen, Rosenfeld & Kolter "
    "2019: n0 = 100 selection samples, n estimation samples, alpha = 0.001). A radius cannot exceed "
    "sigma * Phi^-1(alpha^(1/n)) (the 'max radius' column: 3.81 sigma at n = 100,000, 2.46 sigma at n = 1,000), "
    "so the feature-noise models, smoothed at sigma 0.05, are certified at most to about 0.19 (0.12 at n = 1,000) "
    "and read 0 at r >= 0.25 by construction. An Linf ball of eps 8/255 holds L2 perturbations up to 1.74 on "
    "32x32x3 images: these radii certify against far smaller perturbations than the empirical tables attack. "
    "The last row: the reference's figures (500 CIFAR-10 test images, n = 100,000; source locuslab/smoothing, "
    "analysis/markdown/vary_noise_cifar10), for context only: a ResNet-110 trained on all 50,000 images (the "
    "reference's train.py: 90 epochs)."
)

PROTOCOL = [
    "Data: JPEG-encoded CIFAR-10 (quick and paper: all 50,000 training and 10,000 test images), not the original "
    "PNG-exact arrays; the paper attacks all 10,000 test images (8,805 correct); ours attacks the first "
    "robust_examples eval images and divides by the correct ones among them.",
    "Base model: our base_cnn (three conv blocks 32/64/128 with batch norm, Dense 256, two dropout layers, SGD "
    "with Nesterov momentum and a one-cycle schedule, flip + crop, no label smoothing: it can mask gradients), "
    "trained with the base CNN's measured recipe (dropout 0.3) for the profile's epochs on CPU, every other "
    "model fine-tuned from the trained base model at a peak learning rate of 0.01, the noise-layer models with "
    "the noise added to the trained weights (quick: the base 6 epochs, the others 1 epoch, PGD-2 adversarial "
    "training; paper: the base 28 epochs, the others 2, PGD-3); the paper's scheme (its Figure 9) is an image we "
    "cannot read, and its 87.75 % comes from a full-length run.",
    "Attacks: FGSM; PGD with 10 steps of 2.5 eps / 10 and a random start (the paper gives neither steps nor step "
    "size). Adversarial training: eps 8/255 (not stated in the paper); FGSM-AT on half of each batch, PGD-AT "
    "with the profile's steps on the whole batch.",
    "Gaussian noise: sigma 0.05, active at inference too (the paper's setting, after Lecuyer et al.).",
    "Certified robustness (not in the paper): base CNNs trained with Gaussian noise on their inputs at sigma 0.12 "
    "and 0.25 (the gaussian_augmentation recipe, as Cohen et al. train), certified as smoothed classifiers at "
    "their sigma; the paper's feature-noise models certified at input sigma 0.05 (their own feature noise stays "
    "on: the certificate holds for the randomized base classifier too). The profile's images and n: ci a few at "
    "n = 100, quick and paper 100 at n = 1,000, full 500 at n = 100,000 (the reference's n).",
    "Contrastive head: latent dimension 2, alpha 2, trained jointly with cross-entropy; 1-NN against 5 random "
    "training images per class; FGSM attacks the 1-NN through its distances.",
]
