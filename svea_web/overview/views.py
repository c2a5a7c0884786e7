"""Oversikt: the first page after login — aged receivables, where the overdue money is, monthly
results and top debtors, as server-rendered SVG charts (no script: the CSP forbids inline code)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_decimal, get_locale, ngettext
from flask_babel import gettext as _

from svea_web.clock import today
from svea_web.htmx_utils import wants_fragment
from svea_web.overview import services, svg
from svea_web.templating import money
from svea_web.tenancy import client_required, current_client_id

bp = Blueprint("overview", __name__)

# Where each stage of the overdue money is listed, best first; a list shows once its feature exists.
STAGE_LINKS: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "not_reminded": (("dunning.index", {}), ("ledger.posts", {"filter": "overdue"})),
    "reminded": (("dunning.index", {}), ("ledger.posts", {"filter": "overdue"})),
    "paused": (("dunning.pauses", {}), ("ledger.posts", {"filter": "overdue"})),
    "new": (("collection.tab_new", {}),),
    "svea_pending": (("collection.tab_open", {}), ("ledger.posts", {"filter": "in_case"})),
    "svea_open": (("collection.tab_open", {}), ("ledger.posts", {"filter": "in_case"})),
}


def _first_url(candidates: tuple[tuple[str, dict[str, Any]], ...]) -> str | None:
    for endpoint, args in candidates:
        if endpoint in current_app.view_functions:
            return url_for(endpoint, **args)
    return None


def bucket_url(bucket: services.Bucket) -> str:
    """The ledger list of exactly the bucket's open posts (days overdue, inclusive)."""
    return url_for("ledger.posts", days_from=bucket.days_from, days_to=bucket.days_to)


def _whole_kroner(value: Decimal | float) -> str:
    text = format_decimal(Decimal(str(value)).quantize(Decimal("1")), format="#,##0")
    return f"{text} kr" if str(get_locale()) == "nb" else f"NOK {text}"


def _count_text(value: float) -> str:
    return format_decimal(int(value), format="#,##0")


def _posts(count: int) -> str:
    return ngettext("%(num)s post", "%(num)s poster", count)


def _parse_as_of(raw: str | None, day: date) -> date:
    if not raw:
        return day
    try:
        wanted = date.fromisoformat(raw)
    except ValueError:
        return day
    return min(wanted, day)


def _charts(data: services.Overview, linked: bool) -> dict[str, Any]:
    aged = svg.columns(
        [
            svg.Column(
                axis=str(b.label),
                axis_note=_posts(b.count),
                segments=[
                    svg.Segment(
                        value=b.amount,
                        series=f"age-{i}",
                        label=_(
                            "%(label)s: %(posts)s, %(amount)s",
                            label=b.label,
                            posts=_posts(b.count),
                            amount=money(b.amount),
                        ),
                        href=bucket_url(b) if linked else None,
                        text=_whole_kroner(b.amount),
                    )
                ],
            )
            for i, b in enumerate(data.buckets)
        ],
        _whole_kroner,
    )
    total = data.stage_total
    stage_marks = []
    for s in data.stages:
        share = (s.amount / total * 100) if total else Decimal("0")
        stage_marks.append(
            svg.Segment(
                value=s.amount,
                series=f"stage-{s.key}",
                label=_(
                    "%(label)s: %(posts)s, %(amount)s (%(share)s %%)",
                    label=s.label,
                    posts=_posts(s.count),
                    amount=money(s.amount),
                    share=format_decimal(share.quantize(Decimal("1")), format="#,##0"),
                ),
                href=_first_url(STAGE_LINKS[s.key]) if linked else None,
                text=format_decimal(share.quantize(Decimal("1")), format="#,##0") + " %",
            )
        )
    funnel = svg.stacked_bar(stage_marks)
    return {"aged": aged, "funnel": funnel}


def _monthly_charts(months: list[services.Month]) -> dict[str, Any]:
    results = svg.columns(
        [
            svg.Column(
                axis=format_date(m.first_day, "MMM yy"),
                segments=[
                    svg.Segment(
                        m.paid_after_reminder,
                        "paid-reminder",
                        _(
                            "%(month)s, betalt etter purring: %(amount)s",
                            month=format_date(m.first_day, "LLLL yyyy"),
                            amount=money(m.paid_after_reminder),
                        ),
                    ),
                    svg.Segment(
                        m.paid_direct_in_case,
                        "paid-direct",
                        _(
                            "%(month)s, betalt direkte under sak hos Svea: %(amount)s",
                            month=format_date(m.first_day, "LLLL yyyy"),
                            amount=money(m.paid_direct_in_case),
                        ),
                    ),
                    svg.Segment(
                        m.collected_by_svea,
                        "paid-svea",
                        _(
                            "%(month)s, innkrevd av Svea: %(amount)s",
                            month=format_date(m.first_day, "LLLL yyyy"),
                            amount=money(m.collected_by_svea),
                        ),
                    ),
                ],
            )
            for m in months
        ],
        _whole_kroner,
        width=960,
        height=280,
        bar_share=0.62,
    )
    cases = svg.grouped_columns(
        [
            svg.Column(
                axis=format_date(m.first_day, "MMM yy"),
                segments=[
                    svg.Segment(
                        m.cases_opened,
                        "cases-opened",
                        _(
                            "%(month)s, saker åpnet: %(n)s",
                            month=format_date(m.first_day, "LLLL yyyy"),
                            n=m.cases_opened,
                        ),
                        text=str(m.cases_opened),
                    ),
                    svg.Segment(
                        m.cases_closed,
                        "cases-closed",
                        _(
                            "%(month)s, saker avsluttet: %(n)s",
                            month=format_date(m.first_day, "LLLL yyyy"),
                            n=m.cases_closed,
                        ),
                        text=str(m.cases_closed),
                    ),
                ],
            )
            for m in months
        ],
        _count_text,
        width=960,
    )
    return {"results": results, "cases": cases}


@bp.route("/")
@client_required
def index() -> ResponseReturnValue:
    day = today()
    as_of = _parse_as_of(request.args.get("as_of"), day)
    data = services.build_overview(current_client_id(), as_of, day)
    # The lists the charts link to show the ledger as it stands; a past day's bars are not links.
    linked = as_of == day
    template = "overview/_body.html" if wants_fragment() else "overview/index.html"
    return render_template(
        template,
        data=data,
        charts=_charts(data, linked),
        linked=linked,
        today=day,
        bucket_url=bucket_url,
        stage_url=lambda key: _first_url(STAGE_LINKS[key]) if linked else None,
        customer_url=lambda cid: url_for("ledger.customer", customer_id=cid),
    )


@bp.route("/results")
@client_required
def results() -> ResponseReturnValue:
    """Results per month: loaded by the overview page once it is shown (hx-trigger="load"), so the
    charts at the top do not wait for a year of payments to be summed."""
    day = today()
    as_of = _parse_as_of(request.args.get("as_of"), day)
    months = services.monthly_results(current_client_id(), as_of)
    template = "overview/_results.html" if wants_fragment() else "overview/results.html"
    return render_template(
        template,
        as_of=as_of,
        months=months,
        charts=_monthly_charts(months),
        month_name=lambda first_day: format_date(first_day, "LLLL yyyy"),
    )
