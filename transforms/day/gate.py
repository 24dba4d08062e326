"""The publishing gate: which day may be published, and whether its checks let it be.

Every path that writes a bulletin (`warmline run`, `warmline bulletin`, the served daily flow) asks the same two
questions here, so that none of them can publish what another would refuse:
- is the day inside the campaign (a day before its start or after its end has no figures to publish)?
- do the day's blocking checks pass, or has the statistician forced the day past them with a reason?
A day the gate blocks gets a draft marked 草稿（未发布）, never a file that could be taken for the release.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from transforms.core.reference import Campaign
from transforms.day.checks import CheckResult

DRAFT_MARK = "草稿（未发布）"
# Exit status of a command that publishes a day: a scheduler tells the three apart without reading the output.
PUBLISHED, FAILED, NOT_PUBLISHED = 0, 1, 3


class OutsideCampaign(ValueError):
    """The day lies before the campaign's start or after its end; the message says which and what to run."""


def campaign_day(campaign: Campaign, day: dt.date | None, today: dt.date) -> tuple[dt.date, str | None]:
    """The day to compute and publish, and a note when it is not the one asked for.

    Without a date: today, or the campaign's last day once it has ended (said in the note). A date outside the
    campaign, or today before it starts, is refused: nothing is computed for it."""
    start, end = campaign.start_date, campaign.end_date
    if day is None:
        if today > end:
            return end, (f"the campaign ended on {end}; showing its last day. For another day: "
                         f"`--date YYYY-MM-DD` between {start} and {end}")
        if today < start:
            raise OutsideCampaign(f"the campaign starts on {start}; there is nothing to compute before it "
                                  f"(today is {today})")
        return today, None
    if not start <= day <= end:
        raise OutsideCampaign(f"{day} is outside the campaign ({start} to {end}); choose a day within it")
    return day, None


@dataclass(frozen=True)
class GateDecision:
    """The gate's answer for a day: the checks found, those that block, and the reason it was forced, if it was."""

    day: dt.date
    checks: tuple[CheckResult, ...]
    force_reason: str | None = None

    @property
    def blocking(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocks]

    @property
    def publishable(self) -> bool:
        return not self.blocking or self.force_reason is not None

    @property
    def forced(self) -> bool:
        return bool(self.blocking) and self.force_reason is not None

    @property
    def exit_code(self) -> int:
        return PUBLISHED if self.publishable else NOT_PUBLISHED


def decide(day: dt.date, checks: list[CheckResult], force: bool = False, reason: str | None = None) -> GateDecision:
    """The gate's decision. Forcing a day past its blocking checks needs a reason, which is recorded."""
    reason = (reason or "").strip() or None
    if force and reason is None:
        raise ValueError("--force needs --reason \"…\": say why the day is published although checks block it; "
                         "the reason is recorded with the publication")
    return GateDecision(day, tuple(checks), reason if force else None)


def blocked_line(decision: GateDecision) -> str:
    """One line naming the checks that block the day, for a refusal or a draft."""
    names = ", ".join(dict.fromkeys(c.check for c in decision.blocking))
    return f"{decision.day} is NOT PUBLISHED: {len(decision.blocking)} blocking check(s) failed ({names})"
