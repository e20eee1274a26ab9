"""A study's comparison with its paper: rows naming a finding, the paper's figure and the key of ours.

A study writes its paper's figures once, as a text table (`paper_rows`); the study report
puts each beside the number an analysis recorded under the row's key (`comparison_table`).
The keys are also what the study's pipeline must produce: `StudyReport` checks them against
its analyses' declared findings when the pipeline is built (`missing_findings`).
"""

import pandas as pd

from kerasadv.orchestration.component import SpecError

PAPER_KEYS = ("finding", "paper", "key")


def paper_rows(table):
    """The rows of a text table, one finding a line: `key | finding | the paper's figure`.

    Blank lines are skipped; the figure may be empty (a finding the paper does not report); a
    line starting with `|` continues the row above (a long row on two lines).

    Args:
        table: the text.

    Returns:
        A list of `{"finding": ..., "paper": ..., "key": ...}` dicts, in order.

    Raises:
        SpecError: a row does not have three `|`-separated fields.

    Example:
    >>> rows = paper_rows('''
    ...     base_accuracy | base model test accuracy (%) | 87.75
    ...     coverage_gain | neuron coverage gain (not in the paper) |
    ...     best_sigma | filter: the best std for the retrained network's adversarial accuracy
    ...         | 0.0 (the filter never helps it)
    ... ''')
    >>> rows[1]
    {'finding': 'neuron coverage gain (not in the paper)', 'paper': '', 'key': 'coverage_gain'}
    >>> [row["paper"] for row in rows]
    ['87.75', '', '0.0 (the filter never helps it)']
    >>> paper_rows("base_accuracy | 87.75")
    Traceback (most recent call last):
    ...
    kerasadv.orchestration.component.SpecError: paper row 'base_accuracy | 87.75' must be 'key | finding | ...
    """
    lines = []
    for line in filter(None, (line.strip() for line in table.splitlines())):
        if line.startswith("|") and lines:
            lines[-1] += " " + line
        else:
            lines.append(line)
    rows = []
    for line in lines:
        fields = [field.strip() for field in line.split("|")]
        if len(fields) != 3 or not fields[0]:
            raise SpecError(f"paper row {line!r} must be 'key | finding | the paper's figure' (3 fields).")
        rows.append({"finding": fields[1], "paper": fields[2], "key": fields[0]})
    return rows


def missing_findings(paper, declared):
    """The keys of `paper`'s rows that are not among `declared` findings, in row order.

    Example:
    >>> missing_findings([{"finding": "gain", "paper": "0.05", "key": "max_gain"}], ["gain"])
    ['max_gain']
    """
    return [row["key"] for row in paper if row["key"] not in set(declared)]


def comparison_table(paper, findings):
    """Finding | paper | ours (the analysis's number, by key).

    Args:
        paper: `paper_rows`' rows.
        findings: `{key: number}` the analyses recorded.

    Returns:
        DataFrame with columns finding, paper, ours.

    Raises:
        SpecError: a row's key is not among the findings (names the known keys).

    Example:
    >>> comparison_table([{"finding": "gain", "paper": "0.05", "key": "max_gain"}], {"max_gain": 0.04}).ours.tolist()
    [0.04]
    """
    missing = missing_findings(paper, findings)
    if missing:
        raise SpecError(
            f"the paper rows name findings no analysis produced: {missing}; expected keys among {sorted(findings)}."
        )
    return pd.DataFrame(
        [{"finding": row["finding"], "paper": row["paper"], "ours": findings[row["key"]]} for row in paper]
    )
