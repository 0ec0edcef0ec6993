// Casefile's own schema: the declaration of every collection a legal-aid
// intake uses (cases, clients, interviews, consents, notes, tasks,
// attachments, amendments), at every published version.
//
// Versioning policy (docs/schema.md): versions start at 1 and go up by one.
// A version only ever adds fields (or collections); it never removes, renames
// or retypes one, nor changes whether one is clear or sealed. So
// declaration(n) is a subset of declaration(n + 1), and a change written by a
// device that declares version n is validated against declaration(n).
#pragma once

#include <cstdint>

#include "base/result.hpp"
#include "schema/collection.hpp"

namespace casefile::schema {

// The newest schema version this build knows.
std::uint32_t current_version();

// The declaration at `version`, 1..current_version(), valid for the life of the
// process (never nullptr on success).
// Errors: "unsupported_schema_version".
Result<const SchemaDeclaration*> declaration(std::uint32_t version);

// declaration(current_version()).
const SchemaDeclaration& current_declaration();

}  // namespace casefile::schema
