// The declaration says what the intake brief decided: which fields exist, which
// are sealed, and that versions only ever add fields.
#include "schema/intake_schema.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace casefile::schema {
namespace {

struct Expected {
  std::string collection;
  std::string field;
  Protection protection;
  FieldKind kind;
};

TEST(IntakeSchemaTest, DeclaresTheBriefedFieldsWithTheirProtection) {
  constexpr Protection kClear = Protection::clear;
  constexpr Protection kSealed = Protection::sealed;
  const std::vector<Expected> expected = {
      {"cases", "stage", kClear, FieldKind::enumeration},
      {"cases", "province", kClear, FieldKind::text},
      {"cases", "channel", kClear, FieldKind::enumeration},
      {"cases", "opened_on", kClear, FieldKind::date},
      {"cases", "closed_on", kClear, FieldKind::date},
      {"cases", "outcome", kClear, FieldKind::enumeration},
      {"cases", "juvenile", kClear, FieldKind::boolean},
      {"cases", "disability", kClear, FieldKind::boolean},
      {"cases", "interpreter_needed", kClear, FieldKind::boolean},
      {"cases", "legal_hold", kClear, FieldKind::boolean},
      {"cases", "retention_until", kClear, FieldKind::date},
      {"cases", "charges", kSealed, FieldKind::text},
      {"cases", "summary", kSealed, FieldKind::text},
      {"clients", "age_band", kClear, FieldKind::enumeration},
      {"clients", "juvenile", kClear, FieldKind::boolean},
      {"clients", "gender", kClear, FieldKind::enumeration},
      {"clients", "disability_category", kClear, FieldKind::enumeration},
      {"clients", "names", kSealed, FieldKind::text},
      {"clients", "aliases", kSealed, FieldKind::text},
      {"clients", "identity_number", kSealed, FieldKind::text},
      {"clients", "date_of_birth", kSealed, FieldKind::date},
      {"clients", "address", kSealed, FieldKind::text},
      {"clients", "family_contacts", kSealed, FieldKind::text},
      {"clients", "language", kSealed, FieldKind::text},
      {"interviews", "held_on", kClear, FieldKind::date},
      {"interviews", "place_type", kClear, FieldKind::enumeration},
      {"interviews", "duration_minutes", kClear, FieldKind::integer},
      {"interviews", "status", kClear, FieldKind::enumeration},
      {"interviews", "finalized_at", kClear, FieldKind::timestamp},
      {"interviews", "case_record", kClear, FieldKind::reference},
      {"interviews", "place_name", kSealed, FieldKind::text},
      {"interviews", "attendees", kSealed, FieldKind::text},
      {"interviews", "interpreter", kSealed, FieldKind::text},
      {"interviews", "notes", kSealed, FieldKind::text},
      {"interviews", "arrest_time", kSealed, FieldKind::timestamp},
      {"interviews", "rights_read", kSealed, FieldKind::enumeration},
      {"interviews", "counsel_access", kSealed, FieldKind::enumeration},
      {"interviews", "family_notified", kSealed, FieldKind::enumeration},
      {"interviews", "custody_treatment", kSealed, FieldKind::text},
      {"interviews", "injuries_observed", kSealed, FieldKind::text},
      {"interviews", "coercion_allegation", kSealed, FieldKind::text},
      {"interviews", "medical_needs", kSealed, FieldKind::text},
      {"consents", "scope", kClear, FieldKind::enumeration},
      {"consents", "given_on", kClear, FieldKind::date},
      {"consents", "method", kClear, FieldKind::enumeration},
      {"consents", "status", kClear, FieldKind::enumeration},
      {"consents", "finalized_at", kClear, FieldKind::timestamp},
      {"consents", "witness", kSealed, FieldKind::text},
      {"consents", "signature_attachment", kSealed, FieldKind::reference},
      {"notes", "created_on", kClear, FieldKind::date},
      {"notes", "body", kSealed, FieldKind::text},
      {"tasks", "kind", kClear, FieldKind::enumeration},
      {"tasks", "due_on", kClear, FieldKind::date},
      {"tasks", "done", kClear, FieldKind::boolean},
      {"tasks", "description", kSealed, FieldKind::text},
      {"attachments", "size_bytes", kClear, FieldKind::integer},
      {"attachments", "media_category", kClear, FieldKind::enumeration},
      {"attachments", "ciphertext_sha256", kClear, FieldKind::digest},
      {"attachments", "duration_seconds", kClear, FieldKind::integer},
      {"attachments", "file_name", kSealed, FieldKind::text},
      {"attachments", "description", kSealed, FieldKind::text},
      {"amendments", "amends_collection", kClear, FieldKind::enumeration},
      {"amendments", "amends_record", kClear, FieldKind::reference},
      {"amendments", "amended_at", kClear, FieldKind::timestamp},
      {"amendments", "corrected_fields", kSealed, FieldKind::structured},
      {"amendments", "reason", kSealed, FieldKind::text},
  };
  const SchemaDeclaration& schema = current_declaration();
  for (const Expected& row : expected) {
    const CollectionDeclaration* collection = schema.find_collection(row.collection);
    ASSERT_NE(collection, nullptr) << row.collection;
    const FieldDeclaration* field = collection->find_field(row.field);
    ASSERT_NE(field, nullptr) << row.collection << "." << row.field;
    EXPECT_EQ(field->protection, row.protection) << row.collection << "." << row.field;
    EXPECT_EQ(field->type.kind, row.kind) << row.collection << "." << row.field;
  }
  EXPECT_EQ(schema.find_collection("interviews")->lifecycle, Lifecycle::draft_finalized);
  EXPECT_EQ(schema.find_collection("consents")->lifecycle, Lifecycle::draft_finalized);
  EXPECT_EQ(schema.find_collection("amendments")->lifecycle, Lifecycle::final_on_creation);
  EXPECT_EQ(schema.find_collection("cases")->lifecycle, Lifecycle::editable);
}

TEST(IntakeSchemaTest, EveryFieldIsDescribedAndNamedOnce) {
  const SchemaDeclaration& schema = current_declaration();
  std::set<std::string> collection_names;
  for (const CollectionDeclaration& collection : schema.collections) {
    EXPECT_TRUE(collection_names.insert(collection.name).second) << collection.name;
    EXPECT_FALSE(collection.description.empty()) << collection.name;
    std::set<std::string> field_names;
    for (const FieldDeclaration& field : collection.fields) {
      EXPECT_TRUE(field_names.insert(field.name).second) << collection.name << "." << field.name;
      EXPECT_GE(field.description.size(), 20u) << collection.name << "." << field.name;
      if (field.type.kind == FieldKind::enumeration) {
        EXPECT_FALSE(field.type.values.empty()) << collection.name << "." << field.name;
      }
      if (field.type.kind == FieldKind::text || field.type.kind == FieldKind::structured) {
        EXPECT_GT(field.type.max_length, 0u) << collection.name << "." << field.name;
      }
    }
    for (const DerivedFlagRule& rule : collection.derived_flags) {
      EXPECT_NE(collection.find_field(rule.flag), nullptr);
      EXPECT_NE(collection.find_field(rule.source), nullptr);
    }
    for (const DateOrderRule& rule : collection.date_orders) {
      EXPECT_NE(collection.find_field(rule.earlier), nullptr);
      EXPECT_NE(collection.find_field(rule.later), nullptr);
    }
  }
}

TEST(IntakeSchemaTest, OnlyKnownVersionsAreServed) {
  EXPECT_EQ(current_version(), 3u);
  for (std::uint32_t version : {0u, current_version() + 1, 4000000000u}) {
    auto found = declaration(version);
    ASSERT_FALSE(found.ok()) << version;
    EXPECT_EQ(found.error().code, "unsupported_schema_version");
  }
  for (std::uint32_t version = 1; version <= current_version(); ++version) {
    auto found = declaration(version);
    ASSERT_TRUE(found.ok()) << version;
    EXPECT_EQ((*found)->version, version);
  }
  EXPECT_EQ(&current_declaration(), *declaration(current_version()));
}

// Fields are only ever added: every field of version n is in version n + 1,
// with the same type, protection, presence and description.
TEST(IntakeSchemaTest, EachVersionOnlyAddsFieldsToThePrevious) {
  for (std::uint32_t version = 1; version < current_version(); ++version) {
    const SchemaDeclaration& older = **declaration(version);
    const SchemaDeclaration& newer = **declaration(version + 1);
    std::size_t added = 0;
    for (const CollectionDeclaration& old_collection : older.collections) {
      const CollectionDeclaration* new_collection = newer.find_collection(old_collection.name);
      ASSERT_NE(new_collection, nullptr) << old_collection.name;
      EXPECT_EQ(new_collection->lifecycle, old_collection.lifecycle);
      for (const FieldDeclaration& old_field : old_collection.fields) {
        const FieldDeclaration* new_field = new_collection->find_field(old_field.name);
        ASSERT_NE(new_field, nullptr) << old_collection.name << "." << old_field.name << " removed";
        EXPECT_EQ(*new_field, old_field) << old_collection.name << "." << old_field.name << " changed";
      }
      for (const FieldDeclaration& new_field : new_collection->fields) {
        if (old_collection.find_field(new_field.name) == nullptr) {
          EXPECT_EQ(new_field.since_version, version + 1);
          EXPECT_EQ(new_field.presence, Presence::optional)
              << "an added field cannot be required of old devices";
          ++added;
        }
      }
    }
    EXPECT_GT(added, 0u) << "version " << version + 1 << " adds nothing";
  }
  EXPECT_EQ((*declaration(1))->find_collection("cases")->find_field("in_pretrial_detention"), nullptr);
  EXPECT_NE((*declaration(2))->find_collection("cases")->find_field("in_pretrial_detention"), nullptr);
  EXPECT_EQ((*declaration(2))->find_collection("attachments")->find_field("content_key"), nullptr);
  const FieldDeclaration* content_key =
      (*declaration(3))->find_collection("attachments")->find_field("content_key");
  ASSERT_NE(content_key, nullptr);
  EXPECT_EQ(content_key->protection, Protection::sealed);
}

}  // namespace
}  // namespace casefile::schema
