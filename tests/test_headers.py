from decimal import Decimal

import pytest

from transforms.headers import HeaderCatalogue, HeaderMatch, split_header, unit_scale


@pytest.fixture(scope="module")
def catalogue(ref):
    return HeaderCatalogue(ref)


@pytest.mark.parametrize("header, expected", [
    ("走访慰问户数（户）", HeaderMatch("households_visited", None, Decimal(1), "户")),
    ("走访慰问户数(户)", HeaderMatch("households_visited", None, Decimal(1), "户")),
    ("走访慰问\n户数 （户）", HeaderMatch("households_visited", None, Decimal(1), "户")),
    ("发放慰问金【万元】", HeaderMatch("funds_disbursed", None, Decimal(10000), "万元")),
    ("金额（万元）", HeaderMatch("funds_disbursed", None, Decimal(10000), "万元")),
    ("巡查次数", HeaderMatch("patrols_run", None, Decimal(1), None)),
    ("棉被（床）", HeaderMatch("items_issued", "棉被", Decimal(1), "床")),
    ("棉大衣（件）", HeaderMatch("items_issued", "棉衣", Decimal(1), "件")),
    ("物资合计（件）", HeaderMatch("items_issued", None, Decimal(1), "件")),
])
def test_headers_map_to_indicators(catalogue, header, expected):
    assert catalogue.match(header) == expected


def test_unknown_header_is_none(catalogue):
    assert catalogue.match("志愿者人数（人）") is None
    assert catalogue.match("备注") is None


def test_group_header_over_item_type(catalogue):
    assert catalogue.match("发放物资", "棉衣（件）") == HeaderMatch("items_issued", "棉衣", Decimal(1), "件")


def test_split_header_and_scale():
    assert split_header(" 发放资金 ( 万元 ) ") == ("发放资金", "万元")
    assert unit_scale("万元") == Decimal(10000)
    assert unit_scale("元") == Decimal(1)
    assert unit_scale("万") == Decimal(1)  # a bare 万 is no unit: do not guess
