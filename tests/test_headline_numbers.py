"""Headline figures as the press office writes them: small figures as reported, large ones cut with 余, by the rule
in campaign.toml's [bulletin.headline_numbers]."""

import re
import shutil
import tomllib
from decimal import Decimal

import pytest

from transforms import warehouse
from transforms.bulletin.build import load_wording
from transforms.bulletin.data import read_bulletin_data
from transforms.bulletin.official_numbers import official_number
from transforms.bulletin.text import compose
from transforms.core.layout import SHIPPED_REFERENCE
from transforms.core.reference import HeadlineNumbers, headline_numbers, load_reference
from transforms.read.worked_example import DEMO_DATE

SHIPPED_LINE = "keep_digits_below = 10000"

# value, qualifier, unit word, as the headline prints it with the shipped rule
SHIPPED_CASES = [
    # below 1万: every reported digit, the unit word as the caller passes it
    (105, "exact", "件", "105件"),
    (105, "exact", "件（套）", "105件（套）"),
    (1130, "exact", "户", "1130户"),
    (1130, "at_least", "户", "1130余户"),
    (1130, "approx", "户", "约1130户"),
    (9999, "exact", "户", "9999户"),
    (5584, "at_least", "件（套）", "5584余件（套）"),
    # from 1万: in 万, cut to 0.1万, 余 when digits were cut
    (10000, "exact", "户", "1万户"),
    (12345, "exact", "户", "1.2万余户"),
    (24684, "exact", "户", "2.4万余户"),
    (29999, "approx", "户", "约2.9万户"),  # never rounded up to 3万
    (150_000_000, "exact", "人次", "1.5亿人次"),
    # money: whole yuan below 1万元 (cents cut, so 余), 0.1万元 from 1万元
    (5584.5, "exact", "元", "5584余元"),
    (8500, "exact", "元", "8500元"),
    (4185000.5, "exact", "元", "418.5万余元"),
    (4185000, "approx", "元", "约418.5万元"),
    (480000, "at_least", "元", "48万余元"),
    (None, "unspecified", "份", "若干份"),
]


@pytest.mark.parametrize(("value", "qualifier", "unit", "printed"), SHIPPED_CASES)
def test_headline_keeps_small_figures_as_reported_and_cuts_large_ones(value, qualifier, unit, printed):
    assert official_number(value, qualifier, unit, headline=True) == printed
    assert official_number(value, qualifier, unit, headline=True, rule=HeadlineNumbers()) == printed


def test_the_shipped_table_is_the_default_rule():
    with (SHIPPED_REFERENCE / "campaign.toml").open("rb") as fh:
        settings = tomllib.load(fh)
    assert set(settings["bulletin"]["headline_numbers"]) == set(HeadlineNumbers.__dataclass_fields__)
    assert headline_numbers(settings) == HeadlineNumbers()
    assert load_reference(SHIPPED_REFERENCE).campaign.headline_numbers == HeadlineNumbers()
    assert load_wording(SHIPPED_REFERENCE).headline_numbers == HeadlineNumbers()


def copy_reference(tmp_path, replace: tuple[str, str] | None = None, drop_table: bool = False):
    """The shipped reference folder, its campaign.toml edited: one line replaced, or the headline table dropped."""
    folder = tmp_path / "reference"
    shutil.copytree(SHIPPED_REFERENCE, folder)
    path = folder / "campaign.toml"
    text = path.read_text(encoding="utf-8")
    if replace:
        assert text.count(replace[0]) == 1
        text = text.replace(*replace)
    if drop_table:
        text = text[:text.index("[bulletin.headline_numbers]")]
    path.write_text(text, encoding="utf-8")
    return folder


def test_a_campaign_toml_without_the_table_gets_the_shipped_rule(tmp_path):
    folder = copy_reference(tmp_path, drop_table=True)
    assert load_reference(folder).campaign.headline_numbers == HeadlineNumbers()
    assert load_wording(folder).headline_numbers == HeadlineNumbers()


def test_the_rule_is_read_from_campaign_toml(tmp_path):
    folder = copy_reference(tmp_path, ("keep_digits_below = 10000", "keep_digits_below = 1000"))
    rule = load_reference(folder).campaign.headline_numbers
    assert rule == HeadlineNumbers(keep_digits_below=1000)
    assert load_wording(folder).headline_numbers == rule
    assert official_number(1130, "exact", "户", headline=True, rule=rule) == "1100余户"
    assert official_number(1130, "approx", "户", headline=True, rule=rule) == "约1100户"
    assert official_number(999, "exact", "户", headline=True, rule=rule) == "999户"
    assert official_number(24684, "exact", "户", headline=True, rule=rule) == "2.4万余户"
    # the unit paragraphs do not use the headline rule
    assert official_number(1130, "exact", "户", rule=rule) == "1130户"


@pytest.mark.parametrize(("rule", "value", "unit", "printed"), [
    (HeadlineNumbers(large_step_wan=Decimal(1)), 24684, "户", "2万余户"),
    (HeadlineNumbers(large_step_wan=Decimal("0.01")), 24684, "户", "2.46万余户"),
    (HeadlineNumbers(keep_digits_below=100_000), 24684, "户", "24684户"),
    (HeadlineNumbers(keep_digits_below=100, leading_digits_below_wan=1), 5584, "件", "5000余件"),
    (HeadlineNumbers(money_step_wan=Decimal("0.01")), 4185432, "元", "418.54万余元"),
    (HeadlineNumbers(money_keep_yuan_below=1000), 5584.5, "元", "5500余元"),
    (HeadlineNumbers(money_keep_yuan_below=1000), 999.5, "元", "999余元"),
])
def test_each_setting_changes_what_it_says(rule, value, unit, printed):
    assert official_number(value, "exact", unit, headline=True, rule=rule) == printed


@pytest.mark.parametrize(("line", "key"), [
    ('keep_digits_below = "many"', "keep_digits_below"),
    ("keep_digits_below = 0", "keep_digits_below"),
    ("keep_digits_below = 1000000", "keep_digits_below"),
    ("keep_digits_below = 5000.5", "keep_digits_below"),
    ("leading_digits_below_wan = 0", "leading_digits_below_wan"),
    ("large_step_wan = 0.3", "large_step_wan"),
    ('money_step_wan = "0.1"', "money_step_wan"),
    ("money_keep_yuan_below = 20000", "money_keep_yuan_below"),
    ("keep_digit_below = 1000", "keep_digit_below"),  # a misspelt key is not silently ignored
])
def test_a_malformed_setting_is_refused_naming_the_file_and_the_key(tmp_path, line, key):
    shipped = (SHIPPED_REFERENCE / "campaign.toml").read_text(encoding="utf-8")
    setting = re.search(rf"^{key} = .*$", shipped, re.MULTILINE)  # the key's shipped line, if it has one
    folder = copy_reference(tmp_path, (setting.group() if setting else SHIPPED_LINE, line))
    for load in (load_reference, load_wording):
        with pytest.raises(ValueError) as refused:
            load(folder)
        message = str(refused.value)
        assert "campaign.toml" in message and key in message, message
        assert "e.g." in message or "correct or remove" in message, message  # the message says the fix


def test_the_bulletin_headline_follows_the_home_s_campaign_toml(demo_home):
    path = demo_home.reference / "campaign.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(SHIPPED_LINE, "keep_digits_below = 1000"),
                    encoding="utf-8")
    con = warehouse.connect(demo_home.warehouse, read_only=True)
    try:
        data = read_bulletin_data(con, DEMO_DATE)
    finally:
        con.close()
    headline = compose(data, load_wording(demo_home.reference)).blocks[2].text
    assert "发放防寒物资5500余件（套）" in headline  # 5584余: from 1000 cut to two leading digits
    assert "开展街面巡查371余次" in headline  # 371余: below 1000, as reported
    assert "走访慰问困难群众2.4万余户" in headline
    shipped = compose(data, load_wording(SHIPPED_REFERENCE)).blocks[2].text
    assert "发放防寒物资5584余件（套）" in shipped and "开展街面巡查371余次" in shipped
