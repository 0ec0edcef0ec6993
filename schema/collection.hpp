// The declaration of collections and their fields: the schema as data.
//
// A SchemaDeclaration is what GET /v1/schema serves (schema_json.hpp) and what
// both the server and the device validate writes against
// (value_validation.hpp). The declaration of Casefile's own collections is in
// intake_schema.hpp; docs/schema.md explains every field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "schema/field_type.hpp"

namespace casefile::schema {

// Clear fields are readable by the server (routing and statistics); sealed
// fields are end-to-end encrypted envelopes it stores but cannot open.
enum class Protection : std::uint8_t { clear, sealed };

// Required fields must be present, and not null, when a record is created,
// and may not be cleared later.
enum class Presence : std::uint8_t { optional, required };

struct FieldDeclaration {
  std::string name;
  FieldType type;  // for a sealed field, the type of its plaintext
  Protection protection = Protection::clear;
  Presence presence = Presence::optional;
  std::string description;          // one sentence: what it holds and why it is clear or sealed
  std::uint32_t since_version = 1;  // the first schema version that declares it

  friend bool operator==(const FieldDeclaration&, const FieldDeclaration&) = default;
};

// A boolean flag that another field determines: `flag` must be true when
// `source` holds one of `true_when`, and false when it holds one of
// `false_when`; any other value of `source` leaves the flag free. Checked only
// when both fields hold a value. Breaking it is "inconsistent_fields".
struct DerivedFlagRule {
  std::string flag;
  std::string source;
  std::vector<std::string> true_when;
  std::vector<std::string> false_when;

  friend bool operator==(const DerivedFlagRule&, const DerivedFlagRule&) = default;
};

// Two date fields where `earlier` may not come after `later`. Checked only when
// both hold a value. Breaking it is "inconsistent_fields".
struct DateOrderRule {
  std::string earlier;
  std::string later;

  friend bool operator==(const DateOrderRule&, const DateOrderRule&) = default;
};

// Which writes a record accepts over its life (record_lifecycle.hpp).
enum class Lifecycle : std::uint8_t {
  editable,           // any write, until deleted
  draft_finalized,    // a clear `status` (draft, finalized) and `finalized_at`; no write once finalized
  final_on_creation,  // written whole by the change that creates it; no write after
};

struct CollectionDeclaration {
  std::string name;
  std::string description;
  Lifecycle lifecycle = Lifecycle::editable;
  std::vector<FieldDeclaration> fields;  // in declaration order; names unique
  std::vector<DerivedFlagRule> derived_flags;
  std::vector<DateOrderRule> date_orders;

  // nullptr when no field has that name.
  const FieldDeclaration* find_field(std::string_view field_name) const;

  friend bool operator==(const CollectionDeclaration&, const CollectionDeclaration&) = default;
};

struct SchemaDeclaration {
  std::uint32_t version = 0;
  std::vector<CollectionDeclaration> collections;  // names unique

  // nullptr when no collection has that name.
  const CollectionDeclaration* find_collection(std::string_view collection_name) const;

  friend bool operator==(const SchemaDeclaration&, const SchemaDeclaration&) = default;
};

}  // namespace casefile::schema
