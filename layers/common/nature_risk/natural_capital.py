"""The natural capital dashboard: a portfolio's exposure by ENCORE materiality rating.

Every figure is defined in docs/methodology.md. The computation works on
distinct codes, not on holdings. Each distinct code is resolved once, and
codes that resolve alike share one outcome. Each outcome's exposure is summed
with ``numpy.bincount``, and the per-outcome rating rows (the highest rating
over the outcome's activities) are aggregated with array operations. Only the
unmatched list is built per holding, and it is capped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

import numpy as np
import pandas as pd

from nature_risk.classification import REASONS, Classifier, Resolution
from nature_risk.config import InputLimits
from nature_risk.errors import InputError, Problem
from nature_risk.knowledge_base import RATINGS, SCORES, KnowledgeBase
from nature_risk.option_flags import parse_flag
from nature_risk.tabular import normalise_header

_RATED = 5  # positions 0..4 of RATINGS are VH..VL; ND and N/A are not rated
_HIGH = 2  # positions 0..1 are VH and H
_SCORE_BY_POSITION = np.array([s if s is not None else 0.0 for s in SCORES])
# The default cap on the unmatched list, the same as on listed input errors.
MAX_UNMATCHED = InputLimits().max_row_errors


class HoldingsLike(Protocol):
    """The columns ``build_dashboard`` reads from a parsed portfolio."""

    rows: np.ndarray
    names: list[str]
    codes: list[str]
    amounts: np.ndarray | None
    currency: str | None


class DashboardOptions(NamedTuple):
    """Choices a caller makes for one dashboard.

    ``exclude_water_supply`` drops the Water supply service, as the release's
    explanatory notes advise where it would double count water flow
    regulation and water purification.
    """

    exclude_water_supply: bool = False

    @classmethod
    def from_dict(cls, options: Mapping[str, object] | None) -> DashboardOptions:
        """Build options from a request's ``options`` object.

        Raises ``InputError`` for an unknown option or a value of the wrong
        type. The problem names the field, never the key or value sent.
        """
        problems = []
        values: dict[str, bool] = {}
        for key, value in (options or {}).items():
            if key not in _OPTION_FIELDS:
                problems.append(Problem("unknown option", field="options"))
            elif not isinstance(value, bool):
                problems.append(
                    Problem("must be true or false", field=f"options.{key}")
                )
            else:
                values[key] = value
        if problems:
            raise InputError("The dashboard options are invalid.", problems)
        return cls(**values)

    @classmethod
    def from_request(cls, options: Mapping[str, object] | None) -> DashboardOptions:
        """Build options from a request's ``options`` object, as the route reads it.

        Known flags take the words ``parse_flag`` reads, and other keys are
        ignored. Raises ``InputError`` naming the flag for any other value.
        """
        return cls(**request_flags(options))

    def to_dict(self) -> dict[str, bool]:
        """Return the options as a JSON object of flags."""
        return {"exclude_water_supply": self.exclude_water_supply}


def request_flags(options: Mapping[str, object] | None) -> dict[str, bool]:
    """Parse the known flags a request's ``options`` object sets; drop other keys.

    Keys are compared as headers are (``Exclude Water Supply`` is
    ``exclude_water_supply``), so a flag written another way is not ignored.
    """
    flags: dict[str, bool] = {}
    for key, value in (options or {}).items():
        name = normalise_header(key)
        if name not in _OPTION_FIELDS:
            continue
        if name in flags:
            # The last key would win unreported, as for repeated JSON keys.
            raise InputError(
                f"The options give '{name}' twice, under two spellings: give it once.",
                [Problem(reason="given twice", field=f"options.{name}")],
            )
        flags[name] = parse_flag(value, f"options.{name}")
    return dict(sorted(flags.items()))


_OPTION_FIELDS = frozenset({"exclude_water_supply"})


def build_dashboard(
    holdings: HoldingsLike,
    kb: KnowledgeBase,
    options: DashboardOptions | None = None,
    *,
    max_unmatched: int = MAX_UNMATCHED,
) -> dict[str, object]:
    """Compute the natural capital dashboard for parsed holdings.

    Holdings without amounts (``amounts is None``) count one each. The
    ``unmatched`` list names at most ``max_unmatched`` holdings, so that the
    response stays small whatever the portfolio. Raises ``InputError`` when
    an amount is negative or not finite, or when the water supply exclusion
    is requested and the release has no such service.
    """
    options = options or DashboardOptions()
    count = len(holdings.codes)
    weights = _weights(holdings, count)

    code_of_holding, distinct_codes = _factorised_codes(holdings)
    # Only codes some holding has take part: they are the column's context.
    used = np.flatnonzero(np.bincount(code_of_holding, minlength=len(distinct_codes)))
    used_codes = [distinct_codes[k] for k in used.tolist()]
    resolved = Classifier(kb).resolve_column(used_codes)
    # Codes that resolve alike (all unknown codes, say) share one outcome,
    # so the resolutions list stays short even for 100,000 distinct codes.
    outcome_index: dict[Resolution, int] = {}
    outcome_of_code = np.zeros(len(distinct_codes), dtype=np.int64)
    outcome_of_code[used] = [
        outcome_index.setdefault(resolved[code], len(outcome_index))
        for code in used_codes
    ]
    outcome_of_holding = outcome_of_code[code_of_holding]
    outcomes = list(outcome_index)
    matched = np.fromiter((r.matched for r in outcomes), bool, len(outcomes))

    outcome_weight = np.bincount(
        outcome_of_holding, weights=weights, minlength=len(outcomes)
    )
    outcome_holdings = np.bincount(outcome_of_holding, minlength=len(outcomes))
    matched_outcomes = np.flatnonzero(matched)
    activity_lists = [outcomes[k].activities for k in matched_outcomes]
    weight = outcome_weight[matched_outcomes]
    holdings_per_outcome = outcome_holdings[matched_outcomes]
    matched_exposure = float(weight.sum())

    services = _service_columns(kb, options)
    service_names = [kb.ecosystem_services[i].name for i in services]
    pressure_names = [pressure.name for pressure in kb.pressures]
    dependency = kb.dependency_ratings[:, services]
    pressure = kb.pressure_ratings

    dependency_rows = _max_rating_rows(dependency, activity_lists)
    pressure_rows = _max_rating_rows(pressure, activity_lists)

    holding_matched = matched[outcome_of_holding]
    return {
        "release": kb.release.to_dict(),
        "currency": holdings.currency if holdings.amounts is not None else None,
        "weighting": "amount" if holdings.amounts is not None else "equal",
        "options": _options_dict(kb, options),
        "totals": {
            "holdings": count,
            "matched_holdings": int(holding_matched.sum()),
            "exposure": float(weights.sum()),
            "matched_exposure": matched_exposure,
        },
        "headline": {
            "share_high_dependency": _share(
                weight, (dependency_rows < _HIGH).any(axis=1), matched_exposure
            ),
            "share_high_pressure": _share(
                weight, (pressure_rows < _HIGH).any(axis=1), matched_exposure
            ),
        },
        "dependencies": _rating_summaries(
            "ecosystem_service",
            service_names,
            dependency_rows,
            weight,
            matched_exposure,
        ),
        "pressures": _rating_summaries(
            "pressure", pressure_names, pressure_rows, weight, matched_exposure
        ),
        "heatmaps": {
            "dependencies": _heatmap(
                kb,
                service_names,
                dependency,
                activity_lists,
                weight,
                holdings_per_outcome,
            ),
            "pressures": _heatmap(
                kb,
                pressure_names,
                pressure,
                activity_lists,
                weight,
                holdings_per_outcome,
            ),
        },
        "resolutions": [_resolution_dict(kb, r) for r in outcomes],
        "holdings": {
            "row": np.asarray(holdings.rows).tolist(),
            "resolution": outcome_of_holding.tolist(),
        },
        **_unmatched(
            holdings, outcomes, outcome_of_holding, holding_matched, max_unmatched
        ),
    }


def _factorised_codes(holdings: HoldingsLike) -> tuple[np.ndarray, list[str]]:
    """Return each holding's index into a list of codes, and that list.

    Reuses the factorisation that ``parse_holdings`` stores on its table. The
    list may repeat a code, because the outcomes are merged afterwards.
    """
    positions = getattr(holdings, "code_positions", None)
    distinct = getattr(holdings, "distinct_codes", None)
    if positions is not None and distinct is not None:
        return positions, distinct
    positions, found = pd.factorize(
        pd.Series(holdings.codes, dtype=object), use_na_sentinel=False
    )
    return positions, [str(code) for code in found]


def _weights(holdings: HoldingsLike, count: int) -> np.ndarray:
    if holdings.amounts is None:
        return np.ones(count, dtype=np.float64)
    amounts = np.asarray(holdings.amounts, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(amounts) | (amounts < 0))
    if bad.size:
        rows = np.asarray(holdings.rows)
        raise InputError(
            "Some amounts are negative or not numbers.",
            [
                Problem(
                    "must be a number of at least 0", row=int(rows[i]), field="amount"
                )
                for i in bad[:1000]
            ],
            truncated=bad.size > 1000,
        )
    return amounts


def _service_columns(kb: KnowledgeBase, options: DashboardOptions) -> list[int]:
    columns = list(range(len(kb.ecosystem_services)))
    if options.exclude_water_supply:
        water = kb.service_index("Water supply")
        if water is None:
            raise InputError(
                "The release has no Water supply service to exclude.",
                [
                    Problem(
                        "not available in this release", field="exclude_water_supply"
                    )
                ],
            )
        columns.remove(water)
    return columns


def _options_dict(kb: KnowledgeBase, options: DashboardOptions) -> dict[str, object]:
    note = kb.water_supply_note
    return {
        "exclude_water_supply": options.exclude_water_supply,
        "water_supply_note": (
            {"number": note.number, "subject": note.subject} if note else None
        ),
    }


def _max_rating_rows(
    ratings: np.ndarray, activity_lists: Sequence[tuple[int, ...]]
) -> np.ndarray:
    """Return, per matched outcome, the highest rating over its activities.

    Ratings are positions in RATINGS with the highest first, so the highest
    rating is the minimum. ``minimum.reduceat`` does this for all outcomes at once.
    """
    if not activity_lists:
        return np.empty((0, ratings.shape[1]), dtype=np.int8)
    sizes = np.fromiter((len(a) for a in activity_lists), np.int64, len(activity_lists))
    flat = np.fromiter(
        (i for activities in activity_lists for i in activities), np.int64, sizes.sum()
    )
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return np.minimum.reduceat(ratings[flat], starts, axis=0)


def _share(weight: np.ndarray, mask: np.ndarray, total: float) -> float | None:
    if total <= 0:
        return None
    return float(weight[mask].sum() / total)


def _rating_summaries(
    key: str,
    names: list[str],
    rows: np.ndarray,
    weight: np.ndarray,
    matched_exposure: float,
) -> list[dict[str, object]]:
    """Summarise each column (service or pressure) over the matched outcomes."""
    columns = len(names)
    levels = len(RATINGS)
    if rows.size:
        cell = rows.astype(np.int64) + levels * np.arange(columns)
        by_rating = np.bincount(
            cell.ravel(),
            weights=np.broadcast_to(weight[:, None], rows.shape).ravel(),
            minlength=levels * columns,
        ).reshape(columns, levels)
        highest = rows.min(axis=0)
    else:
        by_rating = np.zeros((columns, levels))
        highest = np.full(columns, -1)
    rated = rows < _RATED
    rated_weight = (weight[:, None] * rated).sum(axis=0)
    scored = (weight[:, None] * _SCORE_BY_POSITION[rows]).sum(axis=0)

    summaries = []
    for column, name in enumerate(names):
        amounts = by_rating[column]
        high = float(amounts[:_HIGH].sum())
        summaries.append(
            {
                key: name,
                "exposure_by_rating": {
                    rating: float(amounts[i]) for i, rating in enumerate(RATINGS)
                },
                "share_high_or_very_high": (
                    high / matched_exposure if matched_exposure > 0 else None
                ),
                "max_rating": RATINGS[highest[column]]
                if highest[column] >= 0
                else None,
                "mean_score": (
                    float(scored[column] / rated_weight[column])
                    if rated_weight[column] > 0
                    else None
                ),
            }
        )
    return summaries


def _heatmap(
    kb: KnowledgeBase,
    columns: list[str],
    ratings: np.ndarray,
    activity_lists: Sequence[tuple[int, ...]],
    weight: np.ndarray,
    holdings_per_outcome: np.ndarray,
) -> dict[str, object]:
    """Activities x columns: each activity's own ratings and the exposure on it.

    A holding that maps to several activities splits its exposure equally
    among them, so the rows' exposure sums to the matched exposure.
    """
    activity_count = len(kb.activities)
    sizes = np.fromiter((len(a) for a in activity_lists), np.int64, len(activity_lists))
    flat = np.fromiter(
        (i for activities in activity_lists for i in activities), np.int64, sizes.sum()
    )
    exposure = np.bincount(
        flat,
        weights=np.repeat(weight / np.maximum(sizes, 1), sizes),
        minlength=activity_count,
    )
    holdings = np.bincount(
        flat, weights=np.repeat(holdings_per_outcome, sizes), minlength=activity_count
    )
    present = np.flatnonzero(holdings > 0)
    order = present[np.argsort(-exposure[present], kind="stable")]
    rows = []
    for position in order.tolist():
        activity = kb.activities[position]
        rows.append(
            {
                "activity_id": activity.activity_id,
                "name": activity.name,
                "exposure": float(exposure[position]),
                "holdings": int(holdings[position]),
                "ratings": [RATINGS[r] for r in ratings[position].tolist()],
            }
        )
    return {"columns": columns, "rows": rows}


def _resolution_dict(kb: KnowledgeBase, resolution: Resolution) -> dict[str, object]:
    result = resolution.to_dict(kb, include_message=False)
    if resolution.matched:
        result["rating_is_max_over_activities"] = len(resolution.activities) > 1
    return result


def _unmatched(
    holdings: HoldingsLike,
    outcomes: list[Resolution],
    outcome_of_holding: np.ndarray,
    holding_matched: np.ndarray,
    max_unmatched: int,
) -> dict[str, object]:
    """List the first unusable holdings by row, field and reason, never by value.

    Returns the ``unmatched`` list with at most ``max_unmatched`` entries, in
    input order, and ``unmatched_count`` and ``unmatched_truncated``.
    """
    reasons = [r.reason for r in outcomes]
    messages = [REASONS[reason] if reason else "" for reason in reasons]
    rows = np.asarray(holdings.rows)
    unmatched = np.flatnonzero(~holding_matched)
    listed = unmatched[: max(max_unmatched, 0)]
    entries = [
        {
            "row": int(rows[i]),
            "field": "code",
            "reason": reasons[k],
            "message": messages[k],
            "resolution": k,
        }
        for i, k in zip(
            listed.tolist(), outcome_of_holding[listed].tolist(), strict=True
        )
    ]
    return {
        "unmatched": entries,
        "unmatched_count": int(unmatched.size),
        "unmatched_truncated": bool(unmatched.size > listed.size),
    }
