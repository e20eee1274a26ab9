"""Paper 000, "FGSM attack and toggle activity" (ResNet-18, CIFAR-10): its figures and our protocol's differences."""

from kerasadv.reporting.paper import paper_rows

TITLE = "FGSM attack and toggle activity (ResNet-18, CIFAR-10): ours beside the paper"

# key of our finding | the finding | the paper's figure
PAPER = paper_rows("""
    binary_gain_smallest_size | binary gain of adding the FGSM images, smallest size (paper: 5; Fig. 6-7)
        | evident (largest)
    binary_gain_largest_size | binary gain, largest size (paper: 1000; Fig. 6-7) | towards 0
    ternary_gain_smallest_size | ternary gain, smallest size (Fig. 8) | more evident than binary
    ternary_gain_largest_size | ternary gain, largest size (Fig. 8) | small
    binary_equal_size_difference | equal size: n/2 clean + n/2 FGSM minus n clean, binary (Fig. 9) | slightly below 0
    ternary_equal_size_difference | equal size, ternary | (binary only in the paper)
    binary_max_eps_gain | largest gain over eps up to 1, binary (Fig. 11) | about 0.05
    ternary_max_eps_gain | largest gain over eps up to 1, ternary (Fig. 11) | under 0.01
    binary_high_eps_gain_largest_size | eps 1 gain at the largest size, binary (Fig. 10) | slight
    clean_mean_depth | top neurons' mean depth, clean (Table 1; 1 = last layer) | middle (layer 7: 0.41)
    clean_adversarial_mean_depth | top neurons' mean depth, clean + FGSM (Table 2) | final layers (15-17: 0.88-1.0)
    dog_clean_mean_depth | top neurons' mean depth, dogs clean | as all classes
    dog_clean_adversarial_mean_depth | top neurons' mean depth, dogs clean + FGSM | as all classes
    neuron_coverage_gain_largest_size | neuron coverage gain, largest size (not in the paper) |
""")

PROTOCOL = [
    "Model: the CIFAR variant of ResNet-18 (3x3 stem, 17 ReLU layers as the paper's), trained here from scratch "
    "on JPEG-encoded CIFAR-10 with the profile's width, images and epochs (the paper: a pre-trained full-width "
    "ResNet-18, accuracy not stated); a weaker model has less sharply used neurons.",
    "FGSM radius: the paper does not state it for the size and ranking experiments; ours is the --eps flag.",
    "Binary thresholds: the KDE is binned (128 bins, Scott's bandwidth) over the profile's training images, not "
    "a per-neuron scipy KDE; ternary thresholds at 0.25 and 0.75 of each neuron's maximum (the paper gives "
    "no fractions).",
    "Ranking score: activation x gradient of the predicted logit, averaged per predicted class (the paper cites "
    "Ruospo and Sanchez without the formula); depth is the layer's position among the 17 ReLU layers.",
    "Sizes and draws: the profile's (the ci profile is a smoke test, not a comparison).",
]
