from decimal import Decimal

import pytest

from transforms.core.figures import (APPROX, AT_LEAST, EXACT, UNSPECIFIED, Figure, combine_qualifiers,
                                parse_figure, sum_figures)
from transforms.core.problems import ProblemFound


@pytest.mark.parametrize("cell, value, qualifier", [
    (1234, "1234", EXACT),
    (370.5, "370.5", EXACT),
    ("1,234", "1234", EXACT),
    ("１２３４", "1234", EXACT),
    ("１,２００", "1200", EXACT),
    (" 800 ", "800", EXACT),
    ("'700", "700", EXACT),
    ("1.2万", "12000", EXACT),
    ("48万余", "480000", AT_LEAST),
    ("约370.5万", "3705000", APPROX),
    ("1000余", "1000", AT_LEAST),
    ("1000多", "1000", AT_LEAST),
    ("50以上", "50", AT_LEAST),
    ("近200", "200", APPROX),
    ("300左右", "300", APPROX),
    ("三百二十一", "321", EXACT),
    ("一万二千", "12000", EXACT),
    ("两千余", "2000", AT_LEAST),
    ("1亿2000万", "120000000", EXACT),
    ("-5", "-5", EXACT),
])
def test_figures_as_officials_write_them(cell, value, qualifier):
    assert parse_figure(cell) == Figure(Decimal(value), qualifier)


def test_ruo_gan_is_unspecified_with_no_value():
    assert parse_figure("若干") == Figure(None, UNSPECIFIED)


@pytest.mark.parametrize("cell", [None, "", "  ", "—", "-", "/", "无", "——", float("nan")])
def test_empty_and_dash_are_no_figure_not_zero(cell):
    assert parse_figure(cell) is None


def test_zero_is_a_figure():
    assert parse_figure(0) == Figure(Decimal(0), EXACT)


def test_header_scale_multiplies_plain_numbers():
    assert parse_figure(48, scale=10_000) == Figure(Decimal(480000), EXACT)
    assert parse_figure("约370.5", scale=10_000) == Figure(Decimal("3705000.0"), APPROX)


def test_unit_word_in_cell_is_an_error_naming_the_fix():
    with pytest.raises(ProblemFound) as err:
        parse_figure("一百二十户")
    assert err.value.problem.rule == "unit-in-cell"
    assert "单位写在表头" in err.value.problem.message_zh
    assert "header" in err.value.problem.message_en


@pytest.mark.parametrize("cell", ["abc", "见附表", "12/20", "1.2.3"])
def test_text_that_is_not_a_number_is_an_error(cell):
    with pytest.raises(ProblemFound) as err:
        parse_figure(cell)
    assert err.value.problem.rule == "not-a-number"
    assert cell in err.value.problem.message_zh


@pytest.mark.parametrize("qualifiers, expected", [
    ([EXACT, EXACT], EXACT),
    ([EXACT, AT_LEAST], AT_LEAST),
    ([AT_LEAST, APPROX, EXACT], APPROX),
    ([EXACT, UNSPECIFIED], EXACT),
    ([UNSPECIFIED], UNSPECIFIED),
])
def test_sum_qualifier(qualifiers, expected):
    assert combine_qualifiers(qualifiers) == expected


def test_sum_leaves_unspecified_parts_out_and_counts_them():
    s = sum_figures([Figure(Decimal(183), EXACT), Figure(Decimal(90), EXACT), Figure(None, UNSPECIFIED)])
    assert (s.value, s.qualifier, s.parts_unspecified) == (Decimal(273), EXACT, 1)


def test_headline_funds_of_the_worked_example_are_approx():
    s = sum_figures([parse_figure("48万余"), parse_figure("约370.5万")])
    assert (s.value, s.qualifier) == (Decimal(4185000), APPROX)
