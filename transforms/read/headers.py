"""Understand a column header (or a list row's name) the way a statistician reads it: by its words and its measure.

A header maps to an indicator when the catalogue lists it as an alias, or when its words and its measure agree
with what the catalogue says the indicator means (data/reference/indicators.csv: the action, the object, the
measure family; measures.csv; header_words.csv; item_types.csv for goods). Everything else is left unmapped
with the reason and the indicators it could have been: a header that could be two indicators, whose measure
contradicts its words, or that matches too weakly is never guessed, since a wrong figure in the city's total is
worse than a figure left out and listed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal

from transforms.core.figures import normalise_text
from transforms.core.reference import Reference

ITEMS_ISSUED = "items_issued"
FUNDS_DISBURSED = "funds_disbursed"
OTHER_ITEMS = "其他物资"  # the item type of goods the lexicon does not know
GOODS = "件"  # the measure family of goods
ALIAS, INFERRED = "alias", "inferred"
# The measures counties mix up, and the catalogue never does: households, people and person-times. Words that say
# one of these and a measure that says another make a header contradictory.
PEOPLE = frozenset({"户", "人", "人次"})
TOTAL_WORDS = ("合计", "总计", "小计", "合计数", "总数", "共计", "计")
# Words that say what goods or money are for or of what kind, and nothing about what became of them (防寒物品,
# 各类物资, 棉衣棉被等, 春节慰问金): a header of goods or money names and these is the catalogue's own column for them
KIND_WORDS = ("各类", "各种", "防寒", "御寒", "保暖", "过冬", "越冬", "冬季", "取暖", "爱心", "救灾", "应急", "生活",
              "节日", "春节", "新春", "慰问", "温暖", "等")
# How goods are read from item words; such a match needs a word saying they were handed out (_handed_out)
NAMED_GOODS_RULES = ("goods word", "item word", "several item words")
# How a column under a goods group (发放物资) is read when its own words are not known: counted into goods issued,
# an unknown item word as 其他物资 with a warning naming it, so these are loaded although a word is unfamiliar
UNKNOWN_UNDER_GOODS, TOTAL_UNDER_GOODS = "unknown item under a goods group", "total under a goods group"
UNDER_GOODS_RULES = (UNKNOWN_UNDER_GOODS, TOTAL_UNDER_GOODS)
# 将 right before a verb says what will be done (将走访, 将为困难群众发放, 将分批送往): a plan, not an outcome. Before a
# noun 将 is the 把 construction (将棉手套送到家中, 将镇、村干部组成工作组) and says nothing about time, so only verbs
# count: the catalogue's own (its actions, and the words of handing goods or money out) and these.
FUTURE_VERBS = ("有", "于", "要", "会", "为", "向", "给", "再", "继续", "持续", "陆续", "分批", "开展", "组织", "安排",
                "启动", "举行", "进行", "实施", "深入", "全部", "逐步", "救济")

# Why a header is left unmapped (the rule of its warning is "<reason>-header")
UNKNOWN = "unknown"  # no indicator's words
AMBIGUOUS = "ambiguous"  # as good a match for several indicators
CONTRADICTORY = "contradictory"  # its measure disagrees with its words, or with the unit column
WEAK = "weak"  # words alone, no measure, not decisive
EXCLUDED = "excluded"  # a word says it is not a catalogue figure (bought, one day's, a rate …)
BREAKDOWN = "breakdown"  # 其中: a part of another figure
UNFAMILIAR = "unfamiliar"  # inferred, but with words the lexicon does not know: suggested, not loaded

_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")", "（": "(", "）": ")"})
_IN_BRACKETS = re.compile(r"^(?P<name>.*?)\((?P<unit>[^()]*)\)$")
_SCALE_PREFIX = {"万": Decimal(10_000), "千": Decimal(1_000), "亿": Decimal(100_000_000), "百": Decimal(100)}
_OF_WHICH = re.compile(r"^其中[:：]?")
_NOISE = re.compile(r"[、/／:：;；\-—_·.。()]")
# Marks that carry no words: digits, quotes, commas, spaces (a header's own number or title marks)
_UNREAD_MARKS = re.compile(r"[0-9０-９,，\"“”‘’《》「」<>〈〉!！?？\s]")
# A place named in brackets after the words (慰问特困对象(北港街道)): where, not what, whatever the place is called
_PLACE_IN_BRACKETS = re.compile(r"\([^()]{1,12}(?:街道|社区|镇|乡|村|县|区|市)\)")
NEUTRAL = "neutral"  # header_words.csv: a word that says nothing of what is counted (的, 全县, 开展, 困难)
# Measure words that may end a header without brackets (走访慰问户, 巡查次): single characters that are rarely
# the end of another word. Longer measure words (人次, 车次, 万元) are recognised anywhere at the end.
_BARE_SUFFIXES = ("户", "人", "次", "元")
UNIT_WORDS = ("人次", "车次", "户", "人", "元", "件", "次", "床", "套", "份", "个", "袋", "桶", "张", "双", "辆", "名", "所", "家")


@dataclass(frozen=True)
class HeaderMatch:
    """What a column holds: an indicator, for items_issued maybe an item type, the header's multiplier, and how
    the mapping was made (alias or inferred, the rule and the words that decided it)."""

    indicator: str
    item_type: str | None
    scale: Decimal
    unit: str | None
    how: str = ALIAS
    rule: str = ALIAS
    words: tuple[str, ...] = ()
    note: str | None = None  # a warning to give with it (an item word the lexicon does not know)


@dataclass(frozen=True)
class HeaderMiss:
    """A header left unmapped: why, the indicators it could have been, and the words behind the verdict."""

    reason: str
    candidates: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    unit: str | None = None
    detail: str = ""  # the verdict in a few words, for the statistician's review
    detail_zh: str = ""  # the same for the clerk
    item_type: str | None = None  # for goods suggested (unfamiliar), the item type they seem to be

    @property
    def rule(self) -> str:
        return f"{self.reason}-header"


@functools.lru_cache(maxsize=1 << 14)
def split_header(text: str) -> tuple[str, str | None]:
    """'金额（万元）' -> ('金额', '万元'); spaces, line breaks and bracket styles do not matter."""
    s = normalise_text(str(text)).translate(_BRACKETS)
    match = _IN_BRACKETS.match(s)
    if match and match.group("name"):
        return match.group("name"), match.group("unit") or None
    return s, None


def unit_scale(unit: str | None) -> Decimal:
    """10000 for 万元 or 万人, 1 for 元 or 户; a unit is a multiplier only when a unit word follows it."""
    if unit and len(unit) > 1 and unit[0] in _SCALE_PREFIX and unit[1:] in UNIT_WORDS:
        return _SCALE_PREFIX[unit[0]]
    return Decimal(1)


def _found(text: str, words: tuple[str, ...]) -> tuple[str, ...]:
    """The words of `words` in `text`, longest first, none counted inside a longer one already found."""
    hits, taken = [], []
    for word in words:  # sorted longest first by the caller
        start = text.find(word)
        while start >= 0:
            span = (start, start + len(word))
            if not any(a < span[1] and span[0] < b for a, b in taken):
                hits.append(word)
                taken.append(span)
                break
            start = text.find(word, start + 1)
    return tuple(hits)


def _longest_first(words) -> tuple[str, ...]:
    return tuple(sorted({w for w in words if w}, key=lambda w: (-len(w), w)))


@dataclass(frozen=True)
class _Meaning:
    """One indicator as the catalogue describes it."""

    code: str
    family: str
    actions: tuple[str, ...]
    objects: tuple[str, ...]
    context: tuple[str, ...]


class HeaderCatalogue:
    """Reads headers against the reference data: aliases first, then meaning (words and measure)."""

    def __init__(self, ref: Reference):
        self.families: dict[str, dict[str, Decimal]] = {}  # measure word → {family: scale}
        for m in ref.measures:
            self.families.setdefault(m.word, {})[m.family] = m.scale
        self.unit_of = {i.code: i.unit for i in ref.indicators}
        self.name_of = {i.code: i.name_zh for i in ref.indicators}
        self.family_of = {i.code: (i.measure or self._family(i.unit) or i.unit) for i in ref.indicators}
        self._alias: dict[str, str] = {}
        self._alias_unit: dict[tuple[str, str], str] = {}  # an alias accepted with its measure: 街面救助（人）
        for ind in ref.indicators:
            for alias in (ind.code, ind.name_zh, *ind.aliases):
                name, unit = split_header(alias)
                if unit and self._measure(unit):
                    self._alias_unit.setdefault((name, unit), ind.code)
                else:
                    self._alias.setdefault(normalise_text(alias).translate(_BRACKETS), ind.code)
        self._item: dict[str, str] = {}
        for item in ref.item_types:
            for alias in (item.name, *item.aliases):
                self._item.setdefault(_NOISE.sub("", split_header(alias)[0]), item.name)
        self._item_words = _longest_first(self._item)
        self._meanings = tuple(
            _Meaning(i.code, self.family_of[i.code], _longest_first(i.actions), _longest_first(i.objects),
                     _longest_first(i.context))
            for i in ref.indicators if i.actions or i.objects)
        items = next((m for m in self._meanings if m.code == ITEMS_ISSUED), None)
        self._goods_words = items.objects if items else ()
        self._issuing = items.context if items else ()  # 发放, 派送: goods handed out
        self._excluding = {w.word: (w.means, w.why, w.why_zh) for w in ref.header_words
                           if not w.means.startswith(("measure:", "implies:")) and w.means != NEUTRAL}
        self._excluding_words = _longest_first(self._excluding)
        self._implied = {w.word: w.means.split(":", 1)[1] for w in ref.header_words if w.means.startswith("measure:")}
        self._implied_words = _longest_first(self._implied)
        # words that suggest a measure only where none is written (发放救助金（户）: households given money)
        self._suggested = {w.word: w.means.split(":", 1)[1] for w in ref.header_words if w.means.startswith("implies:")}
        self._suggested_words = _longest_first(self._suggested)
        self._all_words = _longest_first({w for m in self._meanings for w in (*m.actions, *m.objects, *m.context)})
        funds = next((m for m in self._meanings if m.code == FUNDS_DISBURSED), None)
        self._paying = funds.context if funds else ()  # 发放, 支出: money paid out
        # Every word the reader knows the meaning of: an inferred reading is loaded only when nothing else is left
        # in the header (_unfamiliar)
        self._known_set = frozenset({
            *self._all_words, *self._item, *self._goods_words, *self._implied, *self._suggested,
            *KIND_WORDS, *TOTAL_WORDS, *(w.word for w in ref.header_words if w.means == NEUTRAL),
            *(split_header(a)[0] for i in ref.indicators for a in (i.name_zh, *i.aliases))} - {""})
        self._known_longest = max(map(len, self._known_set), default=1)
        self._measure_words = _longest_first(self.families)
        verbs = {w for m in self._meanings for w in m.actions} | {*self._issuing, *self._paying, *FUTURE_VERBS}
        self._future = re.compile("将(?:" + "|".join(map(re.escape, _longest_first(verbs))) + ")")

    # -- measures ---------------------------------------------------------------------------------------
    def _measure(self, unit: str | None) -> tuple[frozenset[str], Decimal] | None:
        """The families a measure word belongs to and its scale (万元: 元 × 10000); None if it is no measure."""
        if not unit:
            return None
        unit = normalise_text(unit)
        if unit in self.families:
            scales = self.families[unit]
            return frozenset(scales), next(iter(scales.values()))
        if len(unit) > 1 and unit[0] in _SCALE_PREFIX and unit[1:] in self.families:
            scales = self.families[unit[1:]]
            return frozenset(scales), _SCALE_PREFIX[unit[0]] * next(iter(scales.values()))
        return None

    def _family(self, unit: str | None) -> str | None:
        found = self._measure(unit)
        return min(found[0]) if found else None

    def is_measure(self, text: object) -> bool:
        """Whether a cell's text is a measure word (户, 万元, 人次): a unit column's or a units row's cell."""
        return text is not None and self._measure(split_header(f"x({text})")[1]) is not None

    def _implied_families(self, name: str) -> tuple[set[str], tuple[str, ...]]:
        """Measure families the words themselves give (户数, 金额, …人次, …户) and those words."""
        words = list(_found(name, self._implied_words))
        families = {self._implied[w] for w in words}
        for word in sorted(self.families, key=len, reverse=True):
            if name.endswith(word) and (len(word) > 1 or word in _BARE_SUFFIXES) and len(name) > len(word):
                if not any(w.endswith(word) or word in w for w in words):
                    found = self._measure(word)
                    if found:
                        families |= set(found[0]) if len(found[0]) == 1 else set()
                        words.append(word)
                break
        return families, tuple(words)

    # -- reading --------------------------------------------------------------------------------------
    def match(self, *parts: str | None, unit: str | None = None) -> HeaderMatch | None:
        """Match a header given as its rows from top to bottom (a group header over a column header)."""
        found = self.read(*parts, unit=unit)
        return found if isinstance(found, HeaderMatch) else None

    def read(self, *parts: object, unit: object = None) -> HeaderMatch | HeaderMiss | None:
        """What a header means: a HeaderMatch, a HeaderMiss (with why), or None when there is no text at all.

        `parts` are the header's rows from top to bottom (a group header over a column header); `unit` is a
        measure given apart from the header (a unit column, a row of units under the headers).
        """
        texts = tuple(normalise_text(str(p)) for p in parts if p is not None and normalise_text(str(p)))
        unit_text = normalise_text(str(unit)) if unit is not None else ""
        return self._read(texts, unit_text or None) if texts else None

    @functools.lru_cache(maxsize=1 << 14)
    def _read(self, texts: tuple[str, ...], unit_text: str | None) -> HeaderMatch | HeaderMiss:
        column = texts[-1]
        groups = texts[:-1]
        name, bracket = split_header(column)
        mixed = self._mixed_measure(column) or (self._mixed_measure(f"x({unit_text})") if unit_text else ())
        if mixed:
            return HeaderMiss(CONTRADICTORY, words=mixed, unit="/".join(mixed),
                              detail=f"two measures in one: {'/'.join(mixed)}",
                              detail_zh=f"一个表头有两种计量单位：{'、'.join(mixed)}")
        if bracket and not self._measure(bracket):  # (含低保、特困): words, not a measure
            name, bracket = column.translate(_BRACKETS), None
        # the column's own measure (its brackets, a unit column or a row of units); a group's only without one
        own = [u for u in (bracket, unit_text) if u and self._measure(u)]
        group_units = [u for u in (split_header(g)[1] for g in groups) if u and self._measure(u)]
        explicit = own or group_units[-1:]
        if explicit and not frozenset.intersection(*(self._measure(u)[0] for u in explicit)):
            return HeaderMiss(CONTRADICTORY, words=tuple(explicit), unit=explicit[0],
                              detail=f"measures disagree: {' / '.join(explicit)}",
                              detail_zh=f"计量单位前后不一致：{'、'.join(explicit)}")
        measure = explicit[0] if explicit else None
        group_names = tuple(split_header(g)[0] for g in groups)
        alias = self._alias_match(name, group_names, measure)
        if alias is not None:
            return alias
        inferred = self._infer(name, group_names, measure)
        return self._unfamiliar(inferred, "".join(group_names) + name) or inferred

    def _unfamiliar(self, found: HeaderMatch | HeaderMiss, text: str) -> HeaderMiss | None:
        """An inferred reading is loaded only when every word of the header is one the reader knows. Any other
        word may be the one that changes what is counted (计划, 全天, 每年, 装车, 电话询问 …: plans, one day's or one
        year's figures, allocations, contact by phone), and such words are too many to list: a header with one is
        suggested for review (`warmline headers accept`) with what it seems to be, and its figures are listed
        instead of loaded. A wrong figure in the city's total is worse than one a statistician accepts once."""
        if not isinstance(found, HeaderMatch) or found.how != INFERRED or found.rule in UNDER_GOODS_RULES:
            return None
        rest = self._unknown_part(_UNREAD_MARKS.sub("", _NOISE.sub("", _PLACE_IN_BRACKETS.sub("", text))))
        if not rest:
            return None
        return HeaderMiss(UNFAMILIAR, (found.indicator,), (*found.words, rest), found.unit,
                          f"read as {found.indicator}{f' ({found.item_type})' if found.item_type else ''} by "
                          f"{found.rule}, but {rest} is not a word the reader knows",
                          f"看起来是“{self.name_of.get(found.indicator, found.indicator)}"
                          f"{f'（{found.item_type}）' if found.item_type else ''}”，但“{rest}”是未识别的词，需确认后导入",
                          found.item_type)

    def _mixed_measure(self, column: str) -> tuple[str, ...]:
        """The measures of a header that gives two of different families at its end: （人(户)）, （人/户）."""
        tail = re.search(r"\(([^()]*(?:\([^()]*\))?[^()]*)\)+$", column.translate(_BRACKETS))
        if not tail:
            return ()
        parts = tuple(p for p in re.split(r"[()/／、,，或]", tail.group(1)) if p)
        found = [p for p in parts if self._measure(p)]
        families = {min(self._measure(p)[0]) for p in found}
        return tuple(found) if len(found) > 1 and len(families) > 1 else ()

    def _alias_match(self, name: str, groups: tuple[str, ...], measure: str | None) -> HeaderMatch | HeaderMiss | None:
        """The catalogue's own aliases: the column's name, or the group's and the column's together."""
        candidates = [name, "".join(groups) + name] if groups else [name]
        for candidate in candidates:
            code = self._alias_unit.get((candidate, measure or "")) or self._alias.get(candidate)
            item = None if code else self._item.get(_NOISE.sub("", candidate))
            if code is None and item is None:
                continue
            code = code or ITEMS_ISSUED
            excluded = self._excluded("".join(groups))
            if excluded:
                return excluded
            family = self.family_of.get(code, GOODS)
            if measure and family not in self._measure(measure)[0] and (candidate, measure) not in self._alias_unit:
                counted = self.unit_of.get(code, family)
                return HeaderMiss(CONTRADICTORY, (code,), (candidate, measure), measure,
                                  f"the catalogue's {candidate} is counted in {counted}, the header says {measure}",
                                  f"“{candidate}”以“{counted}”计，表头写的是“{measure}”")
            implied, _ = self._implied_families(candidate)
            if measure and implied and not implied & self._measure(measure)[0]:
                return HeaderMiss(CONTRADICTORY, (code,), (candidate, measure), measure,
                                  f"the words say {'/'.join(sorted(implied))}, the header says {measure}",
                                  f"文字指的是“{'、'.join(sorted(implied))}”，表头写的是“{measure}”")
            return HeaderMatch(code, item, unit_scale(measure) if measure else Decimal(1), measure, ALIAS, ALIAS,
                               (candidate,))
        return None

    def _excluded(self, text: str) -> HeaderMiss | None:
        words = _found(text, self._excluding_words)
        future = self._future.search(text)
        if not words and future:
            return HeaderMiss(EXCLUDED, words=(future.group(),),
                              detail=f"{future.group()}: what will be done is not an outcome",
                              detail_zh=f"含“{future.group()}”：将要做的事不是已做的数字")
        if not words:
            return None
        means, why, why_zh = self._excluding[words[0]]
        reason = BREAKDOWN if means == "breakdown" else EXCLUDED
        return HeaderMiss(reason, words=words, detail=f"{words[0]}: {why}", detail_zh=f"含“{words[0]}”：{why_zh}")

    def _infer(self, name: str, groups: tuple[str, ...], measure: str | None) -> HeaderMatch | HeaderMiss:
        """Words and measure against each indicator's meaning."""
        text = "".join(groups) + name
        implied, implied_words = self._implied_families(name)
        given = set(self._measure(measure)[0]) if measure else set()
        if given and implied and not (given & implied):
            return HeaderMiss(CONTRADICTORY, self._by_words(text), (*implied_words, measure), measure,
                              f"the words say {'/'.join(sorted(implied))}, the header says {measure}",
                              f"文字指的是“{'、'.join(sorted(implied))}”，表头写的是“{measure}”")
        suggested = {self._suggested[w] for w in _found(name, self._suggested_words)}
        families = given or implied or suggested
        scale = unit_scale(measure) if measure else Decimal(1)
        if measure:
            scale = self._measure(measure)[1]
        excluded = self._excluded(text)
        items = self._items(name, groups, families, scale, measure)
        if excluded and not (excluded.reason == BREAKDOWN and isinstance(items, HeaderMatch) and items.item_type):
            could_be = (ITEMS_ISSUED,) if isinstance(items, HeaderMatch) else self._by_words(text)
            return HeaderMiss(excluded.reason, could_be, excluded.words, measure, excluded.detail, excluded.detail_zh)
        if isinstance(items, HeaderMatch):
            return self._handed_out(items, name, groups)
        if isinstance(items, HeaderMiss):
            return items
        scored = self._scored(text)
        if FUNDS_DISBURSED not in scored:
            paid = self._money_paid_out(name, groups, families, scale, measure)
            if paid:
                return paid
        if not scored:
            return items or HeaderMiss(UNKNOWN, unit=measure, detail="no indicator's words",
                                       detail_zh="没有与任何指标相符的词")
        if families:
            fitting = {code: s for code, s in scored.items() if self.family_of[code] in families}
            if not fitting:
                codes = tuple(sorted(scored, key=lambda c: -scored[c][0]))
                wanted = "/".join(sorted({self.unit_of[c] for c in codes}))
                given_text = measure or "、".join(sorted(families))
                return HeaderMiss(CONTRADICTORY, codes, (*self._words_of(scored, codes), *(implied_words or (measure,))),
                                  measure, f"the words mean {'/'.join(codes)}, counted in {wanted}; the measure is "
                                           f"{given_text}", f"文字所指的指标以“{wanted.replace('/', '、')}”计，表头写的是“{given_text}”")
            best = self._best(fitting, measure, scale, "words and measure", (measure,) if measure else implied_words)
            return self._unexplained(best, scored, measure) or self._paid_out(best, scored, name) or best
        best = self._best(scored, measure, scale, "words alone", ())
        if isinstance(best, HeaderMatch) and scored[best.indicator][0] < 2:
            return HeaderMiss(WEAK, (best.indicator,), best.words, None,
                              "words alone, no measure: too weak to decide", "只有文字、没有计量单位，不足以确定")
        return best

    @functools.lru_cache(maxsize=1 << 12)
    def _tokens(self, text: str) -> tuple[str, ...]:
        """The catalogue's words in `text`, the longest first, none inside another: 流浪乞讨人员 is the people on the
        street, not 人员 (staff)."""
        return _found(text, self._all_words)

    def _unexplained(self, best, scored: dict, measure: str | None) -> HeaderMiss | None:
        """Words that say another indicator as strongly, which the measure rules out, are not ignored: 救助…入站
        （人次） speaks of rescue and of admissions, 摸排困境儿童（人次） of children counted as visits; picking the
        one its measure allows would be a guess. Counted: the other's actions, and its objects too when the
        match has nothing but an action of its own."""
        if not isinstance(best, HeaderMatch) or self.family_of[best.indicator] not in PEOPLE:
            return None
        score, words, actions = scored[best.indicator][:3]
        explained = set(words)
        bare = set(words) <= set(actions)  # the match has an action and nothing else
        ruled_out = {code: s for code, s in scored.items() if code != best.indicator and s[0] >= max(score, 2)
                     and self.family_of[code] in PEOPLE - {self.family_of[best.indicator]}}
        unexplained = tuple(dict.fromkeys(w for s in ruled_out.values() for w in (*s[2], *(s[3] if bare else ()))
                                          if w not in explained))
        if not unexplained:
            return None
        other = next(code for code, s in ruled_out.items() if set(s[1]) & set(unexplained))
        return HeaderMiss(CONTRADICTORY, (best.indicator, other), (*best.words, *unexplained), measure,
                          f"{'/'.join(unexplained)} speaks of {other} (counted in {self.unit_of[other]}), the rest of "
                          f"{best.indicator}", f"“{'、'.join(unexplained)}”指的是以“{self.unit_of[other]}”计的指标，"
                                               f"与表头其余部分不符")

    def _unknown_part(self, text: str) -> str:
        """The characters of `text` that no known word covers, with the text cut into known words so that as few
        are left as can be (住房保障 → 住房 保障, never 住 房保 障 because 房保 is a word). Measure words count only at
        the end (走访慰问户, 棉鞋件双): inside a header they are words like any other (全天, 一次性)."""
        known, longest = self._known_set, self._known_longest
        # measures[i]: text[i:] is nothing but measure words
        measures = [True] * (len(text) + 1)
        for i in range(len(text) - 1, -1, -1):
            measures[i] = any(text.startswith(m, i) and measures[i + len(m)] for m in self._measure_words)
        # best[i]: the fewest characters left over in text[i:], and the cut that gives it
        best = [(0, 0)] * (len(text) + 1)
        for i in range(len(text) - 1, -1, -1):
            if measures[i]:
                best[i] = (0, -(len(text) - i))
                continue
            choice = (best[i + 1][0] + 1, 1)  # text[i] left over
            for n in range(min(longest, len(text) - i), 0, -1):
                if text[i:i + n] in known and best[i + n][0] < choice[0]:
                    choice = (best[i + n][0], -n)
            best[i] = choice
        left, i = [], 0
        while i < len(text):
            step = best[i][1]
            if step > 0:
                left.append(text[i])
            i += abs(step)
        return "".join(left)

    def _money_paid_out(self, name: str, groups: tuple[str, ...], families: set[str], scale: Decimal,
                        measure: str | None) -> HeaderMatch | None:
        """A sum in yuan that a word says was paid out (发放…（万元）) is money disbursed whatever the money is called
        (生活费, 低保金, 价格补贴): the measure says money, the verb says paid out, and money has no kinds to tell
        apart. Not when the words name goods: then the sum is what the goods were worth (发放棉衣（万元）)."""
        if FUNDS_DISBURSED not in self.family_of or families != {self.family_of[FUNDS_DISBURSED]} or not measure:
            return None
        text = "".join(groups) + name
        paid = _found(text, self._paying)
        if not paid or _found(text, self._goods_words) or self._item_words_in(name):
            return None
        return HeaderMatch(FUNDS_DISBURSED, None, scale, measure, INFERRED, "money paid out", (*paid, measure))

    def _paid_out(self, best, scored: dict, name: str) -> HeaderMiss | None:
        """Money is money paid out to people only when a word says so (发放, 支出, 派送 …: the indicator's context):
        releases name money allocated to lower levels, budgeted, raised, advanced or pooled with the same words
        (救助资金, 慰问金, 善款) and the same measure, and the words that say which are too many to list."""
        if not isinstance(best, HeaderMatch) or best.indicator != FUNDS_DISBURSED:
            return None
        _, words, actions, objects = scored[FUNDS_DISBURSED]
        if set(words) - set(actions) - set(objects) or self._names_only(name, objects):
            return None
        return HeaderMiss(WEAK, (FUNDS_DISBURSED,), best.words, best.unit,
                          "money named, but no word says it was paid out (发放, 支出 …)",
                          "写了资金，但没有“发放、支出”等说明已发到群众手中的词")

    def _scored(self, text: str) -> dict[str, tuple[int, tuple[str, ...], tuple[str, ...]]]:
        """Indicators whose required words are in `text`: code → (evidence score, the words that agree, those of
        them that say what was done, and those that say to whom or what)."""
        scored = {}
        for m in self._meanings:
            if m.code == ITEMS_ISSUED:
                continue  # goods are read by the item lexicon (_items)
            tokens = self._tokens(text)
            actions = tuple(t for t in tokens if t in m.actions)
            objects = tuple(t for t in tokens if t in m.objects)
            if (m.actions and not actions) or (m.objects and not objects):
                continue
            context = tuple(t for t in tokens if t in m.context)
            score = bool(actions) + bool(objects) + bool(context)
            scored[m.code] = (score, actions + objects + context, actions, objects)
        return scored

    def _by_words(self, text: str) -> tuple[str, ...]:
        scored = self._scored(text)
        return tuple(sorted(scored, key=lambda c: -scored[c][0]))

    @staticmethod
    def _words_of(scored: dict, codes) -> tuple[str, ...]:
        return tuple(dict.fromkeys(w for c in codes for w in scored[c][1]))

    def _best(self, scored: dict, measure: str | None, scale: Decimal, rule: str,
              measure_words: tuple) -> HeaderMatch | HeaderMiss:
        top = max(s[0] for s in scored.values())
        best = sorted(code for code, s in scored.items() if s[0] == top)
        if len(best) > 1:
            others = sorted((c for c in scored if c not in best), key=lambda c: -scored[c][0])
            return HeaderMiss(AMBIGUOUS, (*best, *others), self._words_of(scored, best), measure,
                              f"as good a match for {', '.join(best)}", "同样可能是几项指标")
        code = best[0]
        return HeaderMatch(code, None, scale, measure, INFERRED, rule,
                           tuple(dict.fromkeys((*scored[code][1], *(w for w in measure_words if w)))))

    def _handed_out(self, goods: HeaderMatch, name: str, groups: tuple[str, ...]) -> HeaderMatch | HeaderMiss:
        """Goods named in a header are issued goods only when a word says they were handed out (发放, 派送, 送到 …),
        in the header or a group over it, or when a group names the goods figure (物资: the catalogue's issued
        goods). Goods bought, stocked, raised, moved to another office or received are counted with the same
        item words and measures, and the words that say so are too many to list: 第一批棉被启运, 调剂棉被."""
        if goods.rule not in NAMED_GOODS_RULES or _found("".join(groups) + name, self._issuing):
            return goods
        if any(_found(g, self._goods_words) for g in groups):
            return goods
        if self._names_only(name, (*goods.words, *self._item_words)):
            return goods
        return HeaderMiss(WEAK, (ITEMS_ISSUED,), goods.words, goods.unit,
                          "goods named, but no word says they were handed out (发放, 派送 …)",
                          "写了物资，但没有“发放、派送”等说明已发到群众手中的词")

    @staticmethod
    def _names_only(name: str, words: tuple[str, ...]) -> bool:
        """Whether a header names nothing but goods or money (其中：棉被, 棉衣、棉被等防寒物品, 临时救助金): then it is
        the catalogue's own column for them, as its aliases are, and needs no word saying they were handed out;
        only other words (启运, 调剂, 垫付) can make them something else."""
        rest = _NOISE.sub("", _OF_WHICH.sub("", name))
        for word in (*sorted(words, key=len, reverse=True), *KIND_WORDS):
            rest = rest.replace(word, "")
        return not rest

    def _item_words_in(self, name: str) -> tuple[str, ...]:
        """Item words in a name, longest first; a one-character word (米, 油) only as a whole token (米、油), never
        inside another word (自热米饭)."""
        words = []
        for token in _NOISE.split(name):
            if token in self._item:
                words.append(token)
            else:
                words += [w for w in _found(token, self._item_words) if len(w) > 1]
        return tuple(dict.fromkeys(words))

    def _items(self, name: str, groups: tuple[str, ...], families: set[str], scale: Decimal,
               measure: str | None) -> HeaderMatch | HeaderMiss | None:
        """Goods issued: item words (棉被, 羽绒服, 米面油) give the item type, a generic word (物资) the all-types
        figure; a name under a goods group (发放物资) that the lexicon does not know counts as 其他物资."""
        if families and GOODS not in families:
            return None
        items = self._item_words_in(name)
        generic = _found(name, self._goods_words)
        # the longer word wins where a goods word and an item word overlap: 床上用品 is bedding, not 用品 in general;
        # 年货包 is a package of goods, not 年货 (food)
        items = tuple(i for i in items if not any(i in g and len(g) > len(i) for g in generic))
        generic = tuple(g for g in generic if not any(g in i and len(i) > len(g) for i in items))
        if generic:
            return HeaderMatch(ITEMS_ISSUED, None, scale, measure, INFERRED, "goods word", (*generic, *items))
        types = tuple(dict.fromkeys(self._item[w] for w in items))
        if len(types) == 1:
            return HeaderMatch(ITEMS_ISSUED, types[0], scale, measure, INFERRED, "item word", items)
        if len(types) > 1:
            return HeaderMatch(ITEMS_ISSUED, OTHER_ITEMS, scale, measure, INFERRED, "several item words", items,
                               note="mixed")
        under_goods = any(_found(g, self._goods_words) for g in groups)
        word = _OF_WHICH.sub("", name)
        issued = _found(name, self._issuing)
        fits = [code for code in self._scored(name) if self.family_of[code] in families]
        if issued and families == {GOODS} and not self._excluded(name) and not fits:
            # 发放护膝（副）: something counted by the piece was handed out, of a kind the lexicon does not know. It
            # is not guessed to be 其他物资: a word the lexicon lacks is as often food or clothing by another name
            # (方便面, 冬服) or no relief goods at all (联系卡); the review names it for `headers accept`.
            unknown = word.replace(issued[0], "", 1) or word
            return HeaderMiss(UNKNOWN, (ITEMS_ISSUED,), (issued[0], unknown), measure,
                              f"handed out, but {unknown} is no item type the lexicon knows",
                              f"“{unknown}”不在物资目录中，无法确定物资种类")
        if under_goods and word in TOTAL_WORDS:
            return HeaderMatch(ITEMS_ISSUED, None, scale, measure, INFERRED, TOTAL_UNDER_GOODS, (word,))
        excluded = self._excluded(name)
        if under_goods and word and not self._scored(word) and not (excluded and excluded.reason != BREAKDOWN) \
                and not self._implied_families(word)[0] - {GOODS}:
            return HeaderMatch(ITEMS_ISSUED, OTHER_ITEMS, scale, measure, INFERRED, UNKNOWN_UNDER_GOODS,
                               (word,), note="unknown")
        return None
