"""The canonical tables of the customer warehouse: columns, types, units, keys.

This module is the single source of truth for the data model. The importer maps source
columns onto these tables, the warehouse creates them, the features read them, and
``docs/data-model.md`` documents them (a test checks that the document lists every column).

Personal data (names, phones, e-mails, addresses) lives only in the ``identity`` table,
keyed by ``customer_id``; no analysis reads it, so that encryption, consent and erasure
are handled in one place.

Types are Ibis type strings. Timestamps are stored in UTC (``timestamp('UTC')``); where a
source records a local time zone it is kept beside the timestamp in a ``*_tz`` column.
Money is in the company's currency unit (one currency per workspace).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from custlens.errors import InputError, did_you_mean

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "Column",
    "Table",
    "TABLES",
    "table",
    "table_names",
    "CUSTOMER_TYPES",
    "INTERACTION_KINDS",
    "TIME_UNITS",
    "TimeUnit",
    "DAYS_PER_MONTH",
    "DAYS_PER_UNIT",
    "check_time_unit",
    "units_per_month",
    "arrow_type",
]

# -- time units ------------------------------------------------------------------------------
TimeUnit = Literal["D", "W", "M"]

TIME_UNITS: tuple[str, ...] = ("D", "W", "M")
"""The time units of custlens: ``D`` days, ``W`` weeks (Monday to Sunday), ``M`` months.

Every duration of a per-customer summary (``recency``, ``T``) and every model rate is in
one of these units; the library parameter that names it is ``time_unit`` everywhere."""

DAYS_PER_MONTH: float = 365.25 / 12.0
"""Days in an average month (30.4375): the month of discounting, horizons and day counts."""

DAYS_PER_UNIT: dict[str, float] = {"D": 1.0, "W": 7.0, "M": DAYS_PER_MONTH}
"""Days per time unit, for turning durations in a unit into days and back."""


def check_time_unit(value: object, parameter: str = "time_unit") -> str:
    """Return the time unit ``value`` upper-cased; raise :class:`InputError` naming ``parameter``.

    Raises
    ------
    InputError
        When ``value`` is not one of D (days), W (weeks), M (months).
    """
    unit = str(value).upper() if isinstance(value, str) else None
    if unit not in TIME_UNITS:
        raise InputError(
            f"{parameter!r} must be one of D (days), W (weeks, Monday to Sunday), M (months); got {value!r}"
        )
    return unit


def units_per_month(time_unit: str, parameter: str = "time_unit") -> float:
    """How many ``time_unit`` s make a month (``D`` 30.4375, ``W`` 4.348..., ``M`` 1)."""
    return DAYS_PER_MONTH / DAYS_PER_UNIT[check_time_unit(time_unit, parameter)]


Kind = Literal["string", "int64", "float64", "boolean", "date", "timestamp('UTC')"]

CUSTOMER_TYPES = ("personal", "corporate")
"""Allowed values of ``customers.customer_type``."""

INTERACTION_KINDS = (
    "complaint",
    "praise",
    "suggestion",
    "inquiry",
    "service_task",
    "visit",
    "call",
    "other",
)
"""Allowed values of ``interactions.kind``."""


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    Parameters
    ----------
    name
        Column name in the warehouse.
    dtype
        Ibis type string.
    description
        What the column holds.
    unit
        Unit of measure (``"currency"``, ``"days"``, ``"count"``, ...) or ``""``.
    required
        Whether every row must have a value.
    allowed
        The closed set of allowed values, when there is one.
    minimum
        Smallest allowed value for numeric columns, when there is one.
    """

    name: str
    dtype: Kind
    description: str
    unit: str = ""
    required: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None


@dataclass(frozen=True)
class Table:
    """A canonical table: its columns and the columns that identify a row."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    personal_data: bool = False
    _index: dict[str, Column] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({c.name: c for c in self.columns})

    @property
    def column_names(self) -> list[str]:
        """Names of all columns, in order."""
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        """Names of the required columns."""
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        """Return the column called ``name``; raise :class:`InputError` naming the table."""
        try:
            return self._index[name]
        except KeyError:
            raise InputError(
                f"table {self.name!r} has no column {name!r}{did_you_mean(name, self.column_names)} "
                f"(expected one of: {', '.join(self.column_names)})"
            ) from None

    def ibis_schema(self) -> dict[str, str]:
        """Mapping of column name to Ibis type string, for creating the table."""
        return {c.name: c.dtype for c in self.columns}

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of the table (required columns are not nullable)."""
        import pyarrow as pa

        return pa.schema([pa.field(c.name, arrow_type(c.dtype), nullable=not c.required) for c in self.columns])


C = Column
TS: Kind = "timestamp('UTC')"

CUSTOMERS = Table(
    name="customers",
    description="One row per customer: type, region and the characteristic attributes "
    "the analysis reads. No personal data (see `identity`).",
    key=("customer_id",),
    columns=(
        C("customer_id", "string", "Customer identifier, unique in the workspace.", required=True),
        C("customer_type", "string", "Personal or corporate customer.", required=True, allowed=CUSTOMER_TYPES),
        C("region", "string", "Sales region or province."),
        C("city", "string", "City."),
        C("industry", "string", "Industry (corporate customers)."),
        C(
            "company_size",
            "string",
            "Size band (corporate): micro, small, medium, large.",
            allowed=("micro", "small", "medium", "large"),
        ),
        C("registered_capital", "float64", "Registered capital (corporate).", unit="currency", minimum=0),
        C("annual_sales", "float64", "Annual sales of the customer company (corporate).", unit="currency", minimum=0),
        C("listed", "boolean", "Whether the company is publicly listed (corporate)."),
        C("gender", "string", "Gender (personal), as recorded by the source."),
        C("age_band", "string", "Age band (personal), e.g. '25-34'."),
        C("education", "string", "Education level (personal)."),
        C("income_band", "string", "Income band (personal)."),
        C("occupation", "string", "Occupation (personal)."),
        C("acquisition_channel", "string", "Channel through which the customer was acquired."),
        C("created_at", TS, "When the customer record was created (UTC).", unit="timestamp"),
        C("consent_marketing", "boolean", "Consent to marketing contact."),
        C("consent_profiling", "boolean", "Consent to profiling and analysis."),
    ),
)

IDENTITY = Table(
    name="identity",
    description="Personal data, kept apart from every table the analysis reads; keyed by "
    "customer_id. Field encryption, consent and erasure act on this table.",
    key=("customer_id",),
    personal_data=True,
    columns=(
        C("customer_id", "string", "Customer identifier (see `customers`).", required=True),
        C("name", "string", "Person's or company's name."),
        C("contact_person", "string", "Contact person (corporate)."),
        C("phone", "string", "Phone number."),
        C("email", "string", "E-mail address."),
        C("address", "string", "Postal address."),
        C("postcode", "string", "Postal code."),
    ),
)

TRANSACTIONS = Table(
    name="transactions",
    description="Order lines. A negative amount, or return_flag true, is a return.",
    key=("order_id", "line"),
    columns=(
        C("order_id", "string", "Order identifier.", required=True),
        C("line", "int64", "Line number within the order (1 when the source has none).", required=True, minimum=0),
        C("customer_id", "string", "Buying customer.", required=True),
        C("ordered_at", TS, "When the order was placed (UTC).", unit="timestamp", required=True),
        C("ordered_tz", "string", "IANA time zone of the source timestamp, e.g. 'Asia/Shanghai'."),
        C("amount", "float64", "Line revenue; negative for returns.", unit="currency", required=True),
        C("cost", "float64", "Cost of goods for the line.", unit="currency"),
        C("margin", "float64", "Gross margin of the line (amount - cost when both are known).", unit="currency"),
        C("quantity", "float64", "Units on the line; negative for returns.", unit="count"),
        C("product_id", "string", "Product identifier."),
        C("category", "string", "Product category."),
        C("channel", "string", "Sales channel (store, web, app, phone, partner, ...)."),
        C("return_flag", "boolean", "True when the line is a return.", required=True),
    ),
)

INTERACTIONS = Table(
    name="interactions",
    description="Service and contact interactions: complaints, praise, suggestions, inquiries, service tasks.",
    key=("interaction_id",),
    columns=(
        C("interaction_id", "string", "Interaction identifier.", required=True),
        C("customer_id", "string", "Customer concerned.", required=True),
        C("occurred_at", TS, "When it happened (UTC).", unit="timestamp", required=True),
        C("occurred_tz", "string", "IANA time zone of the source timestamp."),
        C("kind", "string", "Kind of interaction.", required=True, allowed=INTERACTION_KINDS),
        C("channel", "string", "Contact channel (phone, email, web, store, ...)."),
        C("outcome", "string", "Outcome (resolved, pending, escalated, ...)."),
    ),
)

RECEIVABLES = Table(
    name="receivables",
    description="Invoices and their payment.",
    key=("invoice_id",),
    columns=(
        C("invoice_id", "string", "Invoice identifier.", required=True),
        C("customer_id", "string", "Invoiced customer.", required=True),
        C("issued_on", "date", "Issue date.", unit="date", required=True),
        C("due_on", "date", "Due date.", unit="date", required=True),
        C("paid_on", "date", "Date of (final) payment; empty while unpaid.", unit="date"),
        C("amount", "float64", "Invoiced amount.", unit="currency", required=True, minimum=0),
        C("paid_amount", "float64", "Amount paid so far.", unit="currency", minimum=0),
    ),
)

LEADS = Table(
    name="leads",
    description="People or companies that are not customers yet (MAN: money, authority, need).",
    key=("lead_id",),
    columns=(
        C("lead_id", "string", "Lead identifier.", required=True),
        C("customer_id", "string", "Customer id once converted; empty before."),
        C("created_at", TS, "When the lead was recorded (UTC).", unit="timestamp", required=True),
        C("source", "string", "Where the lead came from (event, referral, web, ...)."),
        C("need", "boolean", "Has a need for the offer."),
        C("budget", "float64", "Declared budget.", unit="currency", minimum=0),
        C("decision_authority", "boolean", "Contact has authority to decide."),
        C("region", "string", "Region."),
        C("industry", "string", "Industry."),
    ),
)

SURVEY_ANSWERS = Table(
    name="survey_answers",
    description="Survey answers in long form: one row per respondent, instrument and item.",
    key=("respondent_id", "instrument", "item"),
    columns=(
        C("respondent_id", "string", "Respondent; the customer id when known.", required=True),
        C("customer_id", "string", "Customer id of the respondent, when known."),
        C("instrument", "string", "Questionnaire (e.g. 'acsi-2026', 'kano-2026').", required=True),
        C("item", "string", "Item code (e.g. 'CUSA1', 'kano:fast_delivery:functional').", required=True),
        C("answer", "string", "Answer as given (number or label).", required=True),
        C("answered_at", TS, "When answered (UTC).", unit="timestamp"),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (CUSTOMERS, IDENTITY, TRANSACTIONS, INTERACTIONS, RECEIVABLES, LEADS, SURVEY_ANSWERS)
}
"""All canonical tables by name."""


def arrow_type(dtype: str) -> pa.DataType:
    """The Arrow type that stores a column of Ibis type string ``dtype`` (a :data:`Kind`).

    Timestamps are microseconds in UTC; dates are ``date32``.
    """
    import pyarrow as pa

    types: dict[str, pa.DataType] = {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp('UTC')": pa.timestamp("us", tz="UTC"),
    }
    try:
        return types[dtype]
    except KeyError:
        raise InputError(f"unknown column type {dtype!r}; expected one of: {', '.join(types)}") from None


def table_names() -> list[str]:
    """Names of the canonical tables."""
    return list(TABLES)


def table(name: str) -> Table:
    """Return the canonical table called ``name``.

    Raises
    ------
    InputError
        When there is no such table; the message lists the tables there are.
    """
    try:
        return TABLES[name]
    except KeyError:
        raise InputError(
            f"unknown table {name!r}{did_you_mean(name, TABLES)} (expected one of: {', '.join(TABLES)})"
        ) from None
