"""Template context from the review metadata (``results.review``) and disclosure notes.

The review block (govreport.inputs.review: report id, model id and version, review
type, intended use, data windows, sign-off people) is optional in results.json:
older files and runs without ``--review`` render the same fields as blank lines
to fill in by hand. A blank is the mapping ``{"fill": True, "hint": ...}``,
which the templates print as a fill-in line with its hint; given values are
plain strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from govreport.analyses.profiles import FeatureProfile
from govreport.inputs.review import PartyRecord, SignoffPerson
from govreport.policy.record import CheckRecord
from govreport.render.text import DASH, fmt_int
from govreport.results.schema import Results

__all__ = [
    "blank",
    "data_window",
    "display_report_id",
    "model_label",
    "review_context",
    "review_repro_facts",
    "withheld_sentence",
]


def blank(hint: str = "") -> dict[str, Any]:
    """A field to fill in by hand (printed as a line, with ``hint`` beside it)."""
    return {"fill": True, "hint": hint}


def _text(value: str | None) -> str | None:
    return None if value is None or value.strip() == "" else value


def display_report_id(results: Results) -> str:
    """The review's report id when given, else the run's computed id (``GR-...``)."""
    review = results.review
    return (review and _text(review.report_id)) or results.run.report_id


def model_label(results: Results) -> str:
    """Model id and version for running headers; the model file name when none is given."""
    review = results.review
    ident = review and _text(review.model_id)
    if not ident:
        return results.inputs.model.file
    version = review and _text(review.model_version)
    return f"{ident} version {version}" if version else ident


def data_window(results: Results, dataset: str) -> str:
    """The data window of ``dataset`` stated in the review file, else a dash."""
    windows = results.review.data_windows if results.review else {}
    return _text(windows.get(dataset)) or DASH


def _party(party: PartyRecord | None) -> str | None:
    if party is None or not _text(party.name):
        return None
    return f"{party.name}, {party.role}" if _text(party.role) else party.name


def _person_row(role: str, person: SignoffPerson | None) -> dict[str, Any]:
    return {
        "role": role,
        "name": (person and _text(person.name)) or "",
        "title": (person and _text(person.role)) or "",
        "decision": (person and _text(person.decision)) or "",
        "date": (person and _text(person.date)) or "",
    }


def review_context(results: Results) -> dict[str, Any]:
    """Control-page and scope fields from the review metadata.

    Returns ``facts`` (label, value-or-blank pairs for the control page),
    ``signoff`` (one row per role: role, name, title, decision, date; blanks as
    empty strings), ``signoff_note``, ``intended_use`` (text or ``None``),
    ``windows_note``, ``report_id`` and ``model_label``.
    """
    review = results.review
    signoff = review.signoff if review else None
    rows = [
        _person_row("Validator", None if signoff is None else signoff.validator),
        _person_row("Reviewer", None if signoff is None else signoff.reviewer),
        _person_row("Approver", None if signoff is None else signoff.approver),
    ]
    named = any(row["name"] for row in rows)
    windows = review.data_windows if review else {}
    version = review and _text(review.model_version)
    return {
        "report_id": display_report_id(results),
        "model_label": model_label(results),
        "facts": [
            ("Model id", (review and _text(review.model_id)) or blank("model inventory id")),
            ("Model version", version or blank()),
            (
                "Review type",
                (review and _text(review.review_type)) or blank("initial / periodic / change"),
            ),
            ("Model owner", _party(review.model_owner if review else None) or blank()),
            ("Developer", _party(review.developer if review else None) or blank()),
            ("Risk tier", (review and _text(review.risk_tier)) or blank()),
            ("Materiality", (review and _text(review.materiality)) or blank()),
        ],
        "signoff": rows,
        "signoff_note": (
            "Names and roles come from the review file; decisions, dates and signatures are "
            "completed by hand."
            if named
            else "This page is completed by hand, or from the review file given with the run."
        ),
        "intended_use": review and _text(review.intended_use),
        "windows_note": (
            "Data windows as stated in the review file."
            if windows
            else "govreport does not record data windows; the validator states them here "
            "(or in the review file's data_windows)."
        ),
    }


def review_repro_facts(results: Results) -> list[tuple[str, str]]:
    """Appendix B rows: the review file and, when the report id was set there, the run's id."""
    review = results.review
    rows: list[tuple[str, str]] = []
    if review is None:
        return rows
    if _text(review.file):
        rows.append(("Review file", f"{review.file} (SHA-256 {review.sha256 or DASH})"))
    if _text(review.report_id):
        rows.append(("Run fingerprint", results.run.report_id))
    return rows


def withheld_sentence(results: Results, profile: FeatureProfile) -> str:
    """Caption sentence for profile regions whose input statistics are withheld, or ''."""
    withheld = [r for r in profile.regions if r.x_min is None]
    if not withheld:
        return ""
    threshold = results.run.options.disclosure_min_samples
    size = f"fewer than {fmt_int(threshold)} samples" if threshold else "too few samples"
    ranks = ", ".join(f"R{r.rank}" for r in withheld)
    verb = "has" if len(withheld) == 1 else "have"
    return (
        f" Not drawn: {ranks} {verb} {size}, so {'its' if len(withheld) == 1 else 'their'} "
        "input range and distribution are withheld (disclosure control: they would reveal "
        "individual rows)."
    )


# ---------------------------------------------------------------------------
# traceability: check -> SR 11-7 element / SS1/23 principle / EU AI Act article

#: (column heading, prefixes a policy ref may start with), matched case-insensitively.
_FRAMEWORKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SR 11-7 element", ("sr 11-7", "sr11-7", "sr 11/7", "occ 2011-12", "occ 11-12")),
    ("PRA SS1/23 principle", ("pra ss1/23", "ss1/23", "ss 1/23")),
    ("EU AI Act article", ("eu ai act", "ai act")),
)


def _split_ref(ref: str) -> tuple[int | None, str]:
    """(framework column index or None, the clause with the framework prefix removed)."""
    text = ref.strip()
    lowered = text.lower()
    for index, (_head, prefixes) in enumerate(_FRAMEWORKS):
        for prefix in prefixes:
            if lowered.startswith(prefix):
                clause = text[len(prefix) :].strip().lstrip(":,-–—").strip()
                return index, clause or text
    return None, text


def traceability(
    checks: Sequence[CheckRecord],
    dataset: Callable[[CheckRecord], str],
    titles: Mapping[str, str] | None = None,
) -> tuple[list[str], list[list[str]], str]:
    """Head, rows and alignment of the traceability table.

    One row per policy check: its plain title (``titles``, by check id; else its
    description), data set (``dataset(check)``), then
    one column per framework with the clauses of the check's ``refs`` that
    cite it, and an "Other" column when some ref cites none of them.
    """
    parsed = [[_split_ref(ref) for ref in check.refs] for check in checks]
    other = any(index is None for refs in parsed for index, _ in refs)
    head = ["Check", "Data set", *(h for h, _ in _FRAMEWORKS)]
    if other:
        head.append("Other")
    rows = []
    for check, refs in zip(checks, parsed, strict=True):
        columns = [*range(len(_FRAMEWORKS)), *([None] if other else [])]
        cells = ["; ".join(clause for i, clause in refs if i == col) or DASH for col in columns]
        title = (titles or {}).get(check.id) or check.description or check.id
        rows.append([title, dataset(check), *cells])
    return head, rows, "l" * len(head)
