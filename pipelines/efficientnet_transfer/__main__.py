"""`python -m kerasadv.pipelines.efficientnet_transfer`: runs the study and prints its report."""

from kerasadv.pipelines import study_cli
from kerasadv.pipelines.efficientnet_transfer import pipeline

if __name__ == "__main__":
    study_cli.main(pipeline)
