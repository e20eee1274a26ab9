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
""")

PROTOCOL = [
    "Data: JPEG-encoded CIFAR-10 (the profile's subset), not the original PNG-exact arrays; the paper trains on "
    "all 50,000 images and attacks all 10,000 test images (8,805 correct); ours attacks the first "
    "robust_examples eval images and divides by the correct ones among them.",
    "Base model: our base_cnn (three conv blocks 32/64/128 with batch norm, Dense 256, two dropout layers, SGD "
    "with momentum + cosine schedule, flip + crop), trained for the profile's epochs on CPU (quick: 8,000 images, "
    "5 epochs, batch 32, learning rate 0.01, dropout 0.2, tuned for a short run; the adversarially trained models "
    "3 epochs); the paper's scheme (its Figure 9) is an image we cannot read, and its 87.75 % comes from a "
    "full-length run on all 50,000 images.",
    "Attacks: FGSM; PGD with 10 steps of 2.5 eps / 10 and a random start (the paper gives neither steps nor step "
    "size). Adversarial training: eps 8/255 (not stated in the paper); FGSM-AT on half of each batch, PGD-AT "
    "with the profile's steps on the whole batch.",
    "Gaussian noise: sigma 0.05, active at inference too (the paper's setting, after Lecuyer et al.).",
    "Contrastive head: latent dimension 2, alpha 2, trained jointly with cross-entropy; 1-NN against 5 random "
    "training images per class; FGSM attacks the 1-NN through its distances.",
]
