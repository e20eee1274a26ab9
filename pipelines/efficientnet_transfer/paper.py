"""Paper 004, EfficientNet-B0 -> simple CNN transfer (CIFAR-10): its figures and our protocol's differences."""

from kerasadv.reporting.paper import paper_rows

TITLE = "Iterative-FGS examples of EfficientNet-B0 transferred to a simple CNN (CIFAR-10): ours beside the paper"

# key of our finding | the finding | the paper's figure
PAPER = paper_rows("""
    source_success_rate | attack success on the source, test set | 1.0 (all images)
    source_seconds_per_image | attack time per image (s) | 0.089 (K80 GPU)
    original_original_accuracy | target accuracy, original set | 0.7545
    original_adversarial_accuracy | target accuracy, adversarial set | 0.7288
    original_original_loss | target loss, original set | 0.7730
    original_adversarial_loss | target loss, adversarial set | 0.8538
    original_accuracy_drop | target accuracy drop | 0.0257
    confidence_where_transfer_succeeds | mean original confidence where the transfer succeeds | 0.398
    confidence_where_transfer_fails | mean original confidence where the transfer fails | 0.761
    retrained_original_accuracy | retrained accuracy, original set | 0.7685
    retrained_adversarial_accuracy | retrained accuracy, adversarial set | 0.7574
    retrained_original_loss | retrained loss, original set | 0.6887
    retrained_adversarial_loss | retrained loss, adversarial set | 0.7212
    retrained_accuracy_drop | retrained accuracy drop | 0.0111
    filter_original_adversarial_unfiltered | filter: original network, adversarial set, no filter | 0.7288
    filter_original_adversarial_sigma_0.5 | filter: original network, adversarial set, std 0.5 | 0.7492
    filter_original_best_adversarial_sigma | filter: best std for the original network's adversarial accuracy | 0.5
    filter_retrained_best_adversarial_sigma | filter: best std for the retrained network's adversarial accuracy
        | 0.0 (the filter never helps it)
""")

PROTOCOL = [
    "Data: JPEG-encoded CIFAR-10, all 50,000 training and 10,000 test images (the quick and paper profiles; ci "
    "and smoke take a few hundred), as the paper.",
    "Source: EfficientNet-B0 (keras.applications, weights=None) trained here from scratch on 32x32 inputs with its "
    "recipe (Adam 6e-3 with warm-up and cosine decay, batch 128, crops, flips, label smoothing 0.1, stochastic "
    "depth off) for the profile's epochs on 2 CPU cores (quick: 4, paper: 20); the paper does not give its "
    "EfficientNet's training or accuracy "
    "(trained on an EC2 p2.xlarge). With weights='imagenet' the builder takes the real pretrained path online.",
    "Target: the Keras simple deep CNN (the paper's Fig. 2) trained with its recipe (Adam with warm-up and cosine "
    "decay, batch 128, crops, flips, label smoothing 0.1) for the profile's epochs; the paper's target (Adam, "
    "batch 32) reaches 0.7545 after a full-length run.",
    "Attack: as in the paper (0.01 x sign of the gradient per step, repeated until misclassified), with a budget "
    "of 100 steps that reaches the whole pixel range; images still standing then are counted, not hidden. The "
    "time per image is the split's wall time on 2 CPU cores in batches of 256, reading and writing the records "
    "included, over its images (the paper's 0.089 s is on a K80 GPU).",
    "Retraining: the original target fine-tuned (Adam, learning rate 1e-4) on its training images mixed with "
    "their adversarial versions for the profile's retraining epochs; the paper retrains on the adversarial "
    "training set without saying whether from scratch or mixed.",
    "Confidence: the target's softmax confidence on the clean image, over the test images it classifies "
    "correctly (the paper does not say whether it restricted to those).",
]
