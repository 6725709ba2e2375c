"""Usage: volumes, answer rate, ratings, handoffs, response times and most cited documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import render_template, request

from webapp.console import charts
from webapp.console.access import current_organization
from webapp.console.blueprint import blp
from webapp.console.forms import day
from webapp.services import usage as usage_service

RANGES = {"7": 7, "30": 30, "90": 90}
MAX_DAYS = 366


@blp.get("/usage", endpoint="usage")
def usage_page() -> str:
    today = datetime.now(UTC).date()
    length = RANGES.get(request.args.get("days", "30"), 30)
    until = day("until") or today
    since = day("since") or until - timedelta(days=length - 1)
    if since > until:
        since, until = until, since
    since = max(since, until - timedelta(days=MAX_DAYS - 1))
    found = usage_service.usage(current_organization().id, since, until)
    labels = [item.day.strftime("%b %d") for item in found.days]
    return render_template(
        "console/usage.html",
        usage=found,
        days=length,
        questions_chart=charts.bar_chart(
            "Questions per day", list(zip(labels, [d.questions for d in found.days]))
        ),
        rate_chart=charts.line_chart(
            "Answer rate per day (answers that did not abstain)",
            list(zip(labels, [d.answer_rate for d in found.days])),
        ),
        documents_chart=charts.horizontal_bars(
            "Most cited documents",
            [(document.title, document.citations) for document in found.top_documents],
        ),
    )
