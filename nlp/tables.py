"""Column types of the raw.intel_* tables the intelligence assets land (a plain mapping, no heavy imports:
the code location and dbt's source generator read it)."""

from __future__ import annotations

TYPES: dict[str, dict[str, str]] = {
    "intel_documents": {
        "doc_id": "string", "file_name": "string", "source_path": "string", "format": "string", "pages": "int",
        "pages_total": "int", "page_paths": "string", "language": "string", "ocr_languages": "string",
        "mean_confidence": "float", "status": "string", "note": "string", "processed_at": "ts", "_loaded_at": "ts"},
    "intel_pages": {
        "doc_id": "string", "page": "int", "path": "string", "language": "string", "confidence": "float",
        "rotation": "int", "skew": "float", "chars": "int", "text": "string", "_loaded_at": "ts"},
    "intel_facts": {
        "doc_id": "string", "page": "int", "start": "int", "end": "int", "sentence": "string", "fact_type": "string",
        "fact_subtype": "string", "entity_label": "string", "value": "string", "unit": "string",
        "confidence": "float", "linked_customer_id": "string", "link_score": "float", "_loaded_at": "ts"},
    "intel_rejects": {
        "feed": "string", "kind": "string", "file_name": "string", "source_path": "string", "doc_id": "string",
        "reason": "string", "payload": "string", "_source_file": "string", "_source_row": "int",
        "rejected_at": "ts", "_loaded_at": "ts"},
    "intel_note_sentiment": {
        "note_id": "string", "account_id": "string", "note_date": "date", "sentiment": "string", "score": "float",
        "_loaded_at": "ts"},
    "intel_complaint_hotwords": {
        "competitor": "string", "week_start": "date", "term": "string", "term_count": "int", "prev_count": "int",
        "wow_change": "int", "heat": "float", "_loaded_at": "ts"},
    "intel_complaint_heat": {
        "customer_id": "string", "week_start": "date", "complaints": "int", "negative_complaints": "int",
        "competitor_mentions": "int", "heat": "float", "_loaded_at": "ts"},
    "intel_influence_edges": {
        "account_id": "string", "source_contact_id": "string", "target_contact_id": "string", "weight": "float",
        "co_visits": "int", "co_mentions": "int", "_loaded_at": "ts"},
    "intel_influence_nodes": {
        "account_id": "string", "contact_id": "string", "degree": "int", "weighted_degree": "float",
        "pagerank": "float", "betweenness": "float", "_loaded_at": "ts"},
}

# The dbt models each intel entry point reads (the assets declare exactly these).
CUSTOMER_DIRECTORY = ("intermediate", "int_customer_directory")
MEETING_NOTES = ("staging", "stg_crm__meeting_notes")
COMPLAINTS = ("staging", "stg_complaints__complaints")
VISITS = ("staging", "stg_crm__visits")
CONTACTS = ("staging", "stg_crm__contacts")
