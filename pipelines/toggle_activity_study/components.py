"""The toggle-activity study's own component: its report, beside paper 000."""

from kerasadv.components.study_report import StudyReport
from kerasadv.pipelines.toggle_activity_study import paper


class ToggleStudyReport(StudyReport):
    """The study's report: thresholds, toggle activity, ranking and coverage beside the paper's figures."""

    ANALYSES = ("thresholds", "toggle", "ranking", "coverage")
    TITLE, PAPER, PROTOCOL = paper.TITLE, paper.PAPER, paper.PROTOCOL
