"""Insights API (``/api/v1/chat``): 30-day insights, prompts, and weekly insights."""

from __future__ import annotations

from typing import Any

from flask import Response, g
from flask_openapi3 import APIBlueprint, Tag

from chatapp import schemas, sse
from chatapp.extensions import limiter
from chatapp.ratelimits import insight_limit
from chatapp.services.insights import recent, weekly

AUTH = [{"bearerAuth": []}, {"cookieAuth": []}]
bp = APIBlueprint("insights", __name__, url_prefix="/v1/chat", abp_security=AUTH)
tag = Tag(name="insights", description="Insights into the caller's own conversations")
weekly_tag = Tag(name="weekly insights", description="One review per week (Saturday-Friday)")
MODEL_ERRORS = schemas.errors(502, 503, 504)
# Generating an insight (each of these routes) draws on one per-user budget, RATELIMIT_INSIGHTS;
# reading stored insights and the prompt suggestions (which fall back to a fixed set) do not.


@bp.get(
    "/insights",
    tags=[tag],
    responses={200: schemas.InsightsOut, **schemas.AUTHED_ERRORS, **MODEL_ERRORS},
)
@insight_limit
def get_insights() -> dict[str, Any]:
    """Generate an insight into the caller's last 30 days of conversations."""
    return schemas.InsightsOut.model_validate(recent.last_30_days(g.user)).body()


@bp.get(
    "/insights/stream",
    tags=[tag],
    responses={200: schemas.InsightStreamEvent, **schemas.AUTHED_ERRORS},
)
@insight_limit
def stream_insights() -> Response:
    """Stream the 30-day insight as server-sent events: start, content…, end, or error."""
    return sse.event_response(recent.stream(g.user))


@bp.get("/prompts", tags=[tag], responses={200: schemas.PromptList, **schemas.AUTHED_ERRORS})
def get_prompts() -> dict[str, Any]:
    """Suggest opening messages (a fixed set for a new user or without the model)."""
    prompts = recent.suggested_prompts(g.user)
    return schemas.PromptList.of(prompts.items, prompts.source).body()


@bp.get(
    "/weekly-insights/current",
    tags=[weekly_tag],
    responses={200: schemas.CurrentWeekOut, **schemas.AUTHED_ERRORS},
)
def current_weekly_insight() -> dict[str, Any]:
    """Return the current week's bounds and its insight (null until generated)."""
    week = weekly.current_week(g.user)
    return schemas.CurrentWeekOut.of(week, weekly.find(g.user.id, week)).body()


@bp.get(
    "/weekly-insights/history",
    tags=[weekly_tag],
    responses={200: schemas.WeeklyInsightList, **schemas.AUTHED_ERRORS},
)
def weekly_insight_history() -> list[Any]:
    """List the caller's weekly insights, newest week first (a bare array, as seed 003)."""
    return schemas.WeeklyInsightList.of(weekly.history(g.user)).body()


@bp.get(
    "/weekly-insights/<id:insight_id>",
    tags=[weekly_tag],
    responses={200: schemas.WeeklyInsightOut, **schemas.errors(404), **schemas.AUTHED_ERRORS},
)
def get_weekly_insight(path: schemas.WeeklyInsightPath) -> dict[str, Any]:
    """Return one of the caller's weekly insights."""
    return schemas.WeeklyInsightOut.of(weekly.get_insight(g.user, path.insight_id)).body()


@bp.delete(
    "/weekly-insights/<id:insight_id>",
    tags=[weekly_tag],
    responses={200: schemas.Success, **schemas.errors(404), **schemas.BODY_ERRORS},
)
def delete_weekly_insight(path: schemas.WeeklyInsightPath) -> dict[str, Any]:
    """Delete one of the caller's weekly insights."""
    weekly.delete_insight(g.user, path.insight_id)
    return schemas.Success(success=True, message="Weekly insight deleted successfully").body()


@bp.post(
    "/weekly-insights/generate",
    tags=[weekly_tag],
    responses={200: schemas.GenerateOut, **schemas.BODY_ERRORS, **MODEL_ERRORS},
)
@insight_limit
def generate_weekly_insight(body: schemas.GenerateIn) -> dict[str, Any]:
    """Generate this week's insight; the existing one is returned unless forceRegenerate."""
    outcome = weekly.generate(g.user, force=body.forceRegenerate)
    return schemas.GenerateOut.of_outcome(outcome).body()


@bp.get(
    "/weekly-insights/stream",
    tags=[weekly_tag],
    responses={200: schemas.WeeklyStreamEvent, **schemas.AUTHED_ERRORS},
)
@insight_limit
def stream_weekly_insight() -> Response:
    """Stream this week's insight (the existing one, if any) as server-sent events.

    Events: ``start``, ``chunk``…, ``done`` with the saved insight, or ``error`` (nothing
    saved). The insight is saved once, when complete.
    """
    return sse.event_response(weekly.stream(g.user, False, _usage()))


@bp.post(
    "/weekly-insights/regenerate",
    tags=[weekly_tag],
    responses={200: schemas.WeeklyStreamEvent, **schemas.BODY_ERRORS},
)
@insight_limit
def regenerate_weekly_insight() -> Response:
    """Write this week's insight anew, streamed like ``GET .../stream``."""
    return sse.event_response(weekly.stream(g.user, True, _usage()))


def _usage() -> schemas.UsageInfo:
    """The rate limit that applied to this request, as seed 003's ``usageInfo``."""
    current = limiter.current_limit
    if current is None:
        return schemas.UsageInfo(allowed=True, remaining=None, limit=None)
    return schemas.UsageInfo(
        allowed=not current.breached, remaining=current.remaining, limit=current.limit.amount
    )
