"""One reader per data format, registered by name; every format ends in the same validated records.

    from fraudft.data.loading import load_records
    from fraudft.data.formats.base import parse_column_map
    records = load_records("eval0819_alpaca.jsonl")                 # detected: an alpaca JSON array
    records = load_records("x.csv", column_map=parse_column_map("input=text,label=is_fraud"))
    records = load_records("x.data", format="parquet")              # the suffix says nothing: name it

Formats (fraudft.data.formats.base.FORMATS, a Registry filled by `@reader(...)` in the import
order below, one module a format), each yielding one raw record per line, item or row:
    jsonl    one JSON record a line (REFERENCE §1)          errors: FILE:LINE: field: ...
    json     one JSON array of such records                  errors: FILE: item N: field: ...
    alpaca   LLaMA-Factory's alpaca array: instruction, input, output (the answer as JSON text,
             `{"is_fraud": true, "fraud_speaker": ..., "reason": ...}`); the label is output's
             is_fraud, fraud_speaker and reason become fields (fraud_speaker "" when output has none),
             other output keys and other item keys are kept as extra fields
    sharegpt chats (`conversations` or `messages`): one user turn (instruction + input), one
             assistant turn (the answer as JSON text, read as alpaca's output); fraudft.data.formats.sharegpt
                                                             errors: FILE: item N: conversations[1].value: ...
    csv      a header row, then one record a row (UTF-8)     errors: FILE: row N: field: ...
    parquet  one record a row                                errors: FILE: row N: field: ...
    hub      a hub dataset split OWNER/NAME:SPLIT, rows as Parquet's (fraudft.data.formats.hub)
                                                             errors: SOURCE: row N: field: ...

Detection (fraudft.data.loading.detect_format, format=None): OWNER/NAME:SPLIT that is not an
existing file is hub; a suffix that one format alone claims (.csv, .parquet) names it; a .jsonl or
.json file (claimed by the JSON family) is a JSON array when its first non-space character is "[": alpaca
if the first item has `output` and no `label`, json if it has `label`, sharegpt if it has
`conversations` or `messages`, else a UsageError asking for --format; otherwise it is JSONL. Any
other suffix asks for --format. `fraudft.data.loading.place_word(path)` says how a file's records are named (its
format's `places`), for reports that list records by number (the audit, mitigate).

Labels. Every record then passes `fraudft.data.records.validate_record` (label a bool, strings strings),
after one rule per format turns the format's own spelling of a bool into one, and nothing else:
    jsonl, json    a JSON bool (true/false) only: "true", 1 and 0 are refused
    alpaca         output's is_fraud, a JSON bool only
    sharegpt       the assistant answer's is_fraud, a JSON bool only
    csv            cells are text: exactly true, false, 1 or 0, in any case ("True", "FALSE" too)
    parquet, hub   a boolean column, or an integer column holding 0/1; text ("TRUE") is refused
CSV has no null: an empty cell is the empty string (an empty fraud_speaker stays "").

Column maps ({field: source column}, from `--column-map input=text,label=is_fraud`) rename source
columns to record fields before anything else (for alpaca, the fields are instruction, input and
output). A mapped column missing from a table's header is a DataError naming the column; missing
from a JSON record, one naming the line or item and the column.
"""

# The registration order: the order formats are listed in (--format's choices, messages).
from fraudft.data.formats import jsonl, json_array, alpaca, sharegpt, csv_table, parquet, hub  # noqa: F401
