"""`python -m kerasadv.pipelines.attack_defense_study`: runs the study and prints its report."""

from kerasadv.pipelines import study_cli
from kerasadv.pipelines.attack_defense_study import pipeline

if __name__ == "__main__":
    study_cli.main(pipeline)
