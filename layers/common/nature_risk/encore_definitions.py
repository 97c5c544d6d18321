"""Parsing of the definitions and explanatory notes files of an ENCORE release."""

from __future__ import annotations

import re

from nature_risk.encore_files import (
    KnowledgeBaseError,
    SourceFile,
    clean_text,
    column_index,
    decode_csv,
    find_header,
    is_blank,
)
from nature_risk.knowledge_base_types import (
    EcosystemService,
    ExplanatoryNote,
    Pressure,
    SubService,
)

_LABEL_STOPWORDS = frozenset({"and", "of", "to", "the", "service", "services"})


def label_key(label: str) -> frozenset[str]:
    """Reduce a service or pressure name to its significant words.

    The definitions files spell names differently from the rating files
    (``Pollination services`` vs ``Pollination``, ``pollutants to water and
    soil`` vs ``soil and water pollutants``), so names are compared as sets of
    words without brackets, asterisks, hyphens and filler words.
    """
    text = re.sub(r"\([^)]*\)", " ", label.casefold())
    text = re.sub(r"[*\-,]", " ", text)
    return frozenset(word for word in text.split() if word not in _LABEL_STOPWORDS)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.casefold())


def _opens_with(definition: str, name: str) -> bool:
    """Tell whether ``definition`` starts with the words of the service ``name``.

    ENCORE's definitions mostly open with the name of the service they define
    (``Crop provisioning services are ...``). Case, punctuation and the
    bracketed part of a name (``(water quality amelioration)``) are ignored.
    """
    name_words = _words(re.sub(r"\([^)]*\)", " ", name))
    return bool(name_words) and _words(definition)[: len(name_words)] == name_words


def read_service_definitions(
    source: SourceFile, service_names: list[str]
) -> tuple[EcosystemService, ...]:
    """Attach definitions, categories and Level-2 services to the rated services.

    The body runs from the header to the first blank record. A record with only
    its first cell filled is a category (``Provisioning services``). An empty
    Level-1 cell continues the Level-1 service above. Where Level 2 is filled,
    the definition belongs to the Level-2 service, unless the record also
    names a Level-1 service and the definition opens with that name (see
    ``_opens_with``).
    """
    file = source.relative_path
    records = decode_csv(source)
    header_at = find_header(records, source, "Level 1")
    header = records[header_at]
    level1 = column_index(header, source, header_at + 1, ("Level 1",))
    level2 = column_index(header, source, header_at + 1, ("Level 2",))
    definition_at = column_index(header, source, header_at + 1, ("Definition",))

    entries: dict[frozenset[str], dict[str, object]] = {}
    category = None
    current: dict[str, object] | None = None
    for offset, record in enumerate(records[header_at + 1 :]):
        row = header_at + 2 + offset
        if is_blank(record):
            break
        cells = [clean_text(cell) for cell in record] + ["", "", ""]
        name, sub_name, definition = cells[level1], cells[level2], cells[definition_at]
        if name and not sub_name and not definition:
            category = name
            current = None
            continue
        if name:
            key = label_key(name)
            if key in entries:
                raise KnowledgeBaseError(
                    "repeats a Level-1 service",
                    file=file,
                    row=row,
                    column=header[level1],
                )
            current = {"category": category, "definition": None, "subs": []}
            entries[key] = current
        elif current is None:
            raise KnowledgeBaseError(
                "Level-2 service has no Level-1 service above it",
                file=file,
                row=row,
                column=header[level1],
            )
        if name and sub_name and _opens_with(definition, name):
            # The Water purification record puts the Level-1 definition beside
            # its first Level-2 service, which is left without one.
            current["definition"] = definition
            current["subs"].append(SubService(sub_name, None))
        elif sub_name:
            current["subs"].append(SubService(sub_name, definition or None))
        elif name:
            current["definition"] = definition or None

    services = []
    for name in service_names:
        entry = entries.get(label_key(name))
        if entry is None:
            raise KnowledgeBaseError(
                f"no definition for the rated ecosystem service {name!r}",
                file=file,
                column=header[level1],
            )
        services.append(
            EcosystemService(
                name=name,
                category=entry["category"],
                definition=entry["definition"],
                sub_services=tuple(entry["subs"]),
            )
        )
    return tuple(services)


def read_pressure_definitions(
    source: SourceFile, pressure_names: list[str]
) -> tuple[Pressure, ...]:
    """Attach a definition to each rated pressure; the body ends at a blank record."""
    file = source.relative_path
    records = decode_csv(source)
    header_at = find_header(records, source, "Pressure")
    header = records[header_at]
    name_at = column_index(header, source, header_at + 1, ("Pressure",))
    definition_at = column_index(header, source, header_at + 1, ("Definition",))
    definitions: dict[frozenset[str], str] = {}
    for record in records[header_at + 1 :]:
        if is_blank(record):
            break
        cells = [clean_text(cell) for cell in record] + ["", ""]
        definitions[label_key(cells[name_at])] = cells[definition_at]
    pressures = []
    for name in pressure_names:
        definition = definitions.get(label_key(name))
        if definition is None:
            raise KnowledgeBaseError(
                f"no definition for the rated pressure {name!r}",
                file=file,
                column=header[name_at],
            )
        pressures.append(Pressure(name, definition or None))
    return tuple(pressures)


def read_explanatory_notes(source: SourceFile) -> tuple[ExplanatoryNote, ...]:
    records = decode_csv(source)
    header_at = find_header(records, source, "No.")
    header = records[header_at]
    subject_at = column_index(header, source, header_at + 1, ("Subject",))
    note_at = column_index(header, source, header_at + 1, ("Note",))
    notes = []
    for record in records[header_at + 1 :]:
        if is_blank(record):
            break
        cells = [cell.strip() for cell in record] + ["", "", ""]
        notes.append(
            ExplanatoryNote(
                cells[0], clean_text(cells[subject_at]), cells[note_at].strip()
            )
        )
    return tuple(notes)
