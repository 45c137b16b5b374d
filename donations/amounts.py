"""Amounts and months of the donations app: the "cover the fees" fee, amounts as a donor
reads them, and the month/period arithmetic of monthly gifts."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import ROUND_CEILING, Decimal

from django.conf import settings

from donations.models import Donation


def donation_fee_compute(*, amount: int, method: str) -> int:
    """The fee a donor adds with "cover the fees", so that after Stripe's price
    (percent of the charged total plus a fixed part) the NGO receives the whole gift:

        total = ceil((amount + fixed) / (1 - percent / 100)),  fee = total - amount
    """
    if method == Donation.Method.SEPA_DEBIT:
        percent, fixed = Decimal(settings.DONATION_FEE_SEPA_PERCENT), settings.DONATION_FEE_SEPA_FIXED
    else:
        percent, fixed = Decimal(settings.DONATION_FEE_CARD_PERCENT), settings.DONATION_FEE_CARD_FIXED
    total = ((Decimal(amount) + fixed) / (1 - percent / 100)).to_integral_value(rounding=ROUND_CEILING)
    return int(total) - amount


def amount_display(cents: int, locale: str) -> str:
    euros, rest = divmod(cents, 100)
    if locale == "en":
        return f"€{euros:,}.{rest:02d}"
    return f"{euros:,}".replace(",", ".") + f",{rest:02d} €"


def month_add(day: date, months: int, *, day_of_month: int | None = None) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day_of_month or day.day, last))


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def period_next(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return period_of(month_add(date(year, month, 1), 1))
