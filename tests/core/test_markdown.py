"""One markdown-table helper for every report: a cell never breaks its row, numeric columns align right."""

from __future__ import annotations

from solution.core import markdown


def test_a_table_has_a_header_a_rule_and_one_line_per_row():
    text = markdown.table(["name", "ms"], [["a", 1.5], ["b", 20]], numeric=(1,))
    assert text == "| name | ms |\n| --- | ---: |\n| a | 1.5 |\n| b | 20 |\n"


def test_a_pipe_or_a_line_break_in_a_value_stays_inside_its_cell():
    text = markdown.table(["said"], [["error: a | b\nsecond line"]])
    (row,) = text.splitlines()[2:]
    assert row == "| error: a \\| b second line |"
    assert row.replace("\\|", "").count("|") == 2
