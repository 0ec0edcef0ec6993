// The schema as JSON, served at GET /v1/schema (shape documented in
// docs/schema.md):
//
//   {"schema_version": 2,
//    "collections": [
//      {"name": "cases", "description": "...", "lifecycle": "editable",
//       "fields": [
//         {"name": "stage", "type": "enumeration",
//          "constraint": {"values": ["interrogation", ...]},
//          "protection": "clear", "required": true, "since_version": 1,
//          "description": "..."}, ...],
//       "rules": [
//         {"rule": "date_order", "earlier": "opened_on", "later": "closed_on"},
//         {"rule": "derived_flag", "flag": "juvenile", "source": "age_band",
//          "true_when": [...], "false_when": [...]}]}, ...]}
//
// "constraint" holds "max_length" (text, structured), "minimum" and "maximum"
// (integer, timestamp), "values" (enumeration), and is {} otherwise.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "schema/collection.hpp"

namespace casefile::schema {

boost::json::value schema_to_json(const SchemaDeclaration& schema);
// Serialized schema_to_json, compact, keys in the order shown above.
std::string schema_to_json_text(const SchemaDeclaration& schema);

// The strict inverse of schema_to_json, for devices that load the served
// schema. Unknown keys are refused, as are missing ones.
// Errors: "invalid_schema_json" with a message naming the offending part.
Result<SchemaDeclaration> schema_from_json(std::string_view text);

}  // namespace casefile::schema
