from decimal import Decimal

import pytest

from transforms.read.headers import (AMBIGUOUS, BREAKDOWN, CONTRADICTORY, EXCLUDED, UNFAMILIAR, UNKNOWN, WEAK,
                                HeaderCatalogue, HeaderMatch, HeaderMiss, split_header, unit_scale)


@pytest.fixture(scope="module")
def catalogue(ref):
    return HeaderCatalogue(ref)


def mapped(found) -> tuple:
    assert isinstance(found, HeaderMatch), found
    return found.indicator, found.item_type, found.scale, found.how, found.rule


def missed(found) -> tuple:
    assert isinstance(found, HeaderMiss), found
    return found.reason, found.candidates


@pytest.mark.parametrize("header, expected", [
    ("走访慰问户数（户）", HeaderMatch("households_visited", None, Decimal(1), "户", "alias", "alias", ("走访慰问户数",))),
    ("走访慰问户数(户)", HeaderMatch("households_visited", None, Decimal(1), "户", "alias", "alias", ("走访慰问户数",))),
    ("走访慰问\n户数 （户）", HeaderMatch("households_visited", None, Decimal(1), "户", "alias", "alias", ("走访慰问户数",))),
    ("发放慰问金【万元】", HeaderMatch("funds_disbursed", None, Decimal(10000), "万元", "alias", "alias", ("发放慰问金",))),
    ("金额（万元）", HeaderMatch("funds_disbursed", None, Decimal(10000), "万元", "alias", "alias", ("金额",))),
    ("巡查次数", HeaderMatch("patrols_run", None, Decimal(1), None, "alias", "alias", ("巡查次数",))),
    ("棉被（床）", HeaderMatch("items_issued", "棉被", Decimal(1), "床", "alias", "alias", ("棉被",))),
    ("棉大衣（件）", HeaderMatch("items_issued", "棉衣", Decimal(1), "件", "alias", "alias", ("棉大衣",))),
    ("物资合计（件）", HeaderMatch("items_issued", None, Decimal(1), "件", "alias", "alias", ("物资合计",))),
])
def test_catalogue_aliases_map_with_how_they_were_made(catalogue, header, expected):
    assert catalogue.match(header) == expected


@pytest.mark.parametrize("header, indicator, scale, words", [
    ("慰问困难群众（户）", "households_visited", 1, ("慰问", "困难群众", "户")),
    ("入户走访困难家庭（户）", "households_visited", 1, ("入户", "走访", "困难家庭", "户")),
    ("走访困境儿童（人）", "children_visited", 1, ("走访", "儿童", "人")),
    ("发放临时救助金（万元）", "funds_disbursed", 10000, ("临时救助金", "发放", "万元")),
    ("开展街面巡查（次）", "patrols_run", 1, ("巡查", "开展", "街面", "次")),
    ("救助流浪乞讨人员（人次）", "street_rescues", 1, ("救助", "流浪乞讨人员", "人次")),
    ("督导检查养老机构（家）", "facilities_inspected", 1, ("检查", "督导", "养老机构", "家")),
    ("出动巡查车辆（车次）", "patrol_vehicles", 1, ("巡查车辆", "出动", "车次")),
    ("巡查探访困难群众（人次）", "person_visits", 1, ("探访", "困难群众", "人次")),
    ("救助困难群众（人次）", "beneficiaries", 1, ("救助", "困难群众", "人次")),
    ("经劝导入站（人）", "shelter_admissions", 1, ("入站", "劝导", "人")),
])
def test_headers_in_other_words_are_read_by_words_and_measure(catalogue, header, indicator, scale, words):
    found = catalogue.read(header)
    assert mapped(found) == (indicator, None, Decimal(scale), "inferred", "words and measure")
    assert found.words == words


def test_a_measure_in_a_unit_column_counts_as_in_brackets(catalogue):
    assert mapped(catalogue.read("慰问困难群众", unit="户")) == mapped(catalogue.read("慰问困难群众（户）"))
    assert mapped(catalogue.read("发放临时救助金", unit="万元"))[:3] == ("funds_disbursed", None, Decimal(10000))


def test_measure_implied_by_the_words_counts(catalogue):
    assert mapped(catalogue.read("走访低保户"))[0] == "households_visited"
    assert mapped(catalogue.read("关爱困难老人"))[0] == "persons_visited"


@pytest.mark.parametrize("header, unit", [
    ("走访慰问户数（人次）", None),  # household words, person-times measure
    ("走访慰问户数", "人"),  # the unit column disagrees with the words
    ("街面救助（人）", None),  # street rescues are counted in 人次
    ("出动人员（人）", None),
    ("出动车辆（辆）", None),  # vehicles, not vehicle trips
    ("慰问困难群众（万元）", None),  # money only maps to money
    ("走访户数（户）", "人次"),
])
def test_person_person_times_households_and_money_are_never_mixed(catalogue, header, unit):
    assert missed(catalogue.read(header, unit=unit))[0] == CONTRADICTORY


def test_households_given_relief_count_as_households_reached(catalogue):
    assert mapped(catalogue.read("发放临时救助金（户）"))[0] == "households_visited"  # money words give no measure here
    assert mapped(catalogue.read("为困难家庭送去棉被（户）"))[0] == "households_visited"


def test_words_for_people_of_another_count_make_a_header_contradictory(catalogue):
    assert missed(catalogue.read("救助流浪乞讨人员入站（人次）")) == (CONTRADICTORY, ("street_rescues", "shelter_admissions"))
    assert missed(catalogue.read("摸排困境儿童（人次）")) == (CONTRADICTORY, ("person_visits", "children_visited"))


def test_contradictory_header_names_what_it_could_be_and_why(catalogue):
    found = catalogue.read("走访慰问户数（人次）")
    assert (found.reason, found.candidates, found.unit) == (CONTRADICTORY, ("households_visited",), "人次")
    assert found.detail_zh == "“走访慰问户数”以“户”计，表头写的是“人次”"


def test_two_equally_good_indicators_are_never_guessed(catalogue):
    assert missed(catalogue.read("走访慰问困难群众")) == \
        (AMBIGUOUS, ("households_visited", "person_visits", "persons_visited"))
    assert missed(catalogue.read("走访慰问困难群众和留守儿童（人）")) == \
        (AMBIGUOUS, ("children_visited", "persons_visited"))


def test_words_alone_that_say_little_are_too_weak(catalogue):
    assert missed(catalogue.read("夜巡")) == (WEAK, ("patrols_run",))


@pytest.mark.parametrize("header, word", [
    ("采购棉被（床）", "采购"), ("储备物资（件）", "储备"), ("筹集资金（万元）", "筹集"), ("当日走访户数（户）", "当日"),
    ("救助床位（张）", "床位"), ("志愿者人数（人）", "志愿者"), ("户均慰问金（元）", "户均"), ("资金发放率（%）", "率"),
])
def test_words_that_say_a_figure_is_not_a_catalogue_figure_exclude_it(catalogue, header, word):
    found = catalogue.read(header)
    assert found.reason == EXCLUDED and word in found.words


def test_a_group_header_for_one_day_excludes_its_columns(catalogue):
    assert missed(catalogue.read("当日", "走访户数（户）"))[0] == EXCLUDED
    assert mapped(catalogue.read("累计", "走访户数（户）"))[0] == "households_visited"


def test_of_which_is_a_breakdown_except_for_item_types(catalogue):
    assert missed(catalogue.read("其中：低保户（户）"))[0] == BREAKDOWN
    assert mapped(catalogue.read("其中：棉被（床）"))[:2] == ("items_issued", "棉被")


@pytest.mark.parametrize("header, item_type, rule", [
    ("发放棉被（床）", "棉被", "item word"),
    ("羽绒服（件）", "棉衣", "alias"),
    ("棉褥（床）", "棉被", "alias"),
    ("棉衣棉被（套）", "棉衣棉被", "alias"),
    ("米面油（份）", "米面油", "alias"),
    ("方便面、饮用水（份）", "食品", "alias"),
    ("发放防寒物资（件）", None, "alias"),
    ("棉衣、棉被、米、油等防寒物品（份）", None, "goods word"),
    ("棉被毛毯（床）", "其他物资", "several item words"),
])
def test_item_words_count_into_items_issued_with_their_type(catalogue, header, item_type, rule):
    assert mapped(catalogue.read(header))[:2] == ("items_issued", item_type)
    assert catalogue.read(header).rule == rule


def test_an_unknown_word_under_a_goods_group_is_other_goods_and_named(catalogue):
    found = catalogue.read("发放物资", "自热米饭（盒）")
    assert mapped(found) == ("items_issued", "其他物资", Decimal(1), "inferred", "unknown item under a goods group")
    assert (found.words, found.note) == (("自热米饭",), "unknown")
    assert mapped(catalogue.read("发放物资", "合计（件）"))[:2] == ("items_issued", None)
    assert missed(catalogue.read("发放物资", "受助人数（人）"))[0] == CONTRADICTORY  # people, not goods


def test_a_one_character_item_word_counts_only_on_its_own(catalogue):
    assert catalogue.read("自热米饭（盒）").reason == UNKNOWN  # 米 inside 米饭 is not rice
    assert mapped(catalogue.read("大米（袋）"))[:2] == ("items_issued", "大米")


def test_unknown_header_is_a_miss_with_no_candidates(catalogue):
    assert missed(catalogue.read("性别")) == (UNKNOWN, ())
    assert catalogue.read(None, "") is None


def test_split_header_and_scale():
    assert split_header(" 发放资金 ( 万元 ) ") == ("发放资金", "万元")
    assert unit_scale("万元") == Decimal(10000)
    assert unit_scale("元") == Decimal(1)
    assert unit_scale("万") == Decimal(1)  # a bare 万 is no unit: do not guess


def test_an_inferred_header_with_a_word_the_reader_does_not_know_is_suggested_not_loaded(catalogue):
    # every word known: loaded by words and measure
    assert mapped(catalogue.read("为困难群众上门走访慰问（户）"))[0] == "households_visited"
    # one word it does not know could be the one that changes what is counted (a plan, one day's, by phone …)
    found = catalogue.read("云端走访慰问困难群众（户）")
    assert missed(found) == (UNFAMILIAR, ("households_visited",))
    assert found.words[-1] == "云端" and "云端" in found.detail and "云端" in found.detail_zh
    # an alias needs no inference, whatever its words; a measure word may end a header, not hide inside it
    assert mapped(catalogue.read("走访慰问户数（户）"))[0] == "households_visited"
    assert missed(catalogue.read("全天街面巡查救助流浪人员（人次）"))[0] in (UNFAMILIAR, EXCLUDED)
