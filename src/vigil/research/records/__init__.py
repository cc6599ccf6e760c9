"""Analyses over Vigil's own records (a study with a [vigil] table instead of [data]): reach,
on-site outcomes and entry into treatment, each read with aggregate queries and protected
against small counts before an evaluator sees it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vigil.research.methods.common import Validator
from vigil.research.records.scope import Scope


@dataclass(frozen=True)
class RecordSpec:
    name: str
    label: str
    run: Callable[[Scope, Mapping[str, Any]], dict[str, Any]]
    options: Mapping[str, Validator]
    description: str
    assumptions: tuple[str, ...]


def _registry() -> dict[str, RecordSpec]:
    from vigil.research.records import onsite_outcomes, reach, treatment_entry

    specs = (
        RecordSpec(
            name="reach",
            label="Reach: people, visits and retention",
            run=reach.run,
            options={},
            description=(
                "Visits and unique participants per month, new (first visit ever at these "
                "sites) and returning, cumulative unique participants since the start of the "
                "period; retention as the share of people first seen in the period who came "
                "back on a later day within 30, 90 and 180 days, counted only over people whose "
                "whole window lies within the data; visits per participant; the coarse profile "
                "(age band, gender, housing) of the people seen."
            ),
            assumptions=(
                "One participant record is one person: a person registered twice is counted "
                "twice until the records are merged; merged records count once.",
                "The profile is as last recorded and optional: 'not recorded' is a category.",
                "Months and days are on the local calendar of the first site in the scope.",
            ),
        ),
        RecordSpec(
            name="onsite_outcomes",
            label="On-site outcomes: overdoses, response and deaths averted",
            run=onsite_outcomes.run,
            options={
                "fatal_share": onsite_outcomes.fatal_share,
                "fatal_share_low": onsite_outcomes.fatal_share,
                "fatal_share_high": onsite_outcomes.fatal_share,
            },
            description=(
                "Overdose and drug-poisoning events recorded on site, per 1,000 visits with an "
                "exact Poisson 95% interval; their outcomes; naloxone doses per overdose; EMS "
                "calls; the time from an alarm being raised to its acknowledgement and to a "
                "responder claiming it (median and 90th percentile, by priority); and an "
                "estimate of deaths averted after Milloy et al. (2008), with its assumptions "
                "and a sensitivity range."
            ),
            assumptions=(
                "Every overdose on site is recorded as a medical event of kind overdose.",
                "The deaths-averted estimate rests on an assumed share of potentially fatal "
                "overdoses that would have been fatal elsewhere; see the figures for the share "
                "used, its range and its source.",
                "Alarm response times include technical and check-overdue alarms at the same "
                "priority; an alarm never acknowledged is counted separately, not as a time.",
            ),
        ),
        RecordSpec(
            name="treatment_entry",
            label="Entry into treatment",
            run=treatment_entry.run,
            options={},
            description=(
                "The treatment referral funnel (referred, accepted, attended, entered "
                "treatment, declined, lost); the share of people first seen in the period who "
                "entered treatment within 30 and 90 days of their first visit; a Kaplan-Meier "
                "curve of the time from first visit to entering treatment, censored at the end "
                "of the data; set beside published figures from Boston and Vancouver."
            ),
            assumptions=(
                "Entry into treatment is known only when staff record it on a referral; an "
                "entry elsewhere that the site never hears of is missing (an underestimate).",
                "Censoring is independent of entering treatment: people who stop coming are as "
                "likely to enter treatment as those who stay.",
                "The published figures come from other sites, populations and definitions; they "
                "are a frame of reference, not a benchmark.",
            ),
        ),
    )
    return {spec.name: spec for spec in specs}


RECORD_METHODS: dict[str, RecordSpec] = _registry()
