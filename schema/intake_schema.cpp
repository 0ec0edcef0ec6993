// The intake schema as one table. Every field of every version is listed here
// once, with the version that introduced it; declaration(n) keeps the fields
// with since_version <= n. Add fields at the end of a collection with the next
// version number; never edit or remove a published line.
#include "schema/intake_schema.hpp"

#include <string>
#include <utility>
#include <vector>

namespace casefile::schema {
namespace {

constexpr std::uint32_t kCurrentVersion = 3;

FieldDeclaration clear(std::string name, FieldType type, Presence presence, std::string description,
                       std::uint32_t since_version = 1) {
  return FieldDeclaration{std::move(name), std::move(type),        Protection::clear,
                          presence,        std::move(description), since_version};
}

FieldDeclaration sealed(std::string name, FieldType type, Presence presence, std::string description,
                        std::uint32_t since_version = 1) {
  return FieldDeclaration{std::move(name), std::move(type),        Protection::sealed,
                          presence,        std::move(description), since_version};
}

constexpr Presence kRequired = Presence::required;
constexpr Presence kOptional = Presence::optional;

CollectionDeclaration collection(std::string name, std::string description, Lifecycle lifecycle,
                                 std::vector<FieldDeclaration> fields,
                                 std::vector<DerivedFlagRule> derived_flags = {},
                                 std::vector<DateOrderRule> date_orders = {}) {
  return CollectionDeclaration{std::move(name),   std::move(description),   lifecycle,
                               std::move(fields), std::move(derived_flags), std::move(date_orders)};
}

FieldType lifecycle_status() { return enumeration_type({"draft", "finalized"}); }

CollectionDeclaration cases() {
  return collection(
      "cases", "One person's defence: the unit of access and of encryption keys.", Lifecycle::editable,
      {
          clear("stage",
                enumeration_type(
                    {"interrogation", "investigation", "prosecution_review", "trial", "appeal", "closed"}),
                kRequired,
                "Stage of proceedings; clear so that supervisors can route work and impact can be "
                "reported by stage."),
          clear("province", text_type(64), kRequired,
                "Province where the case is heard; clear because it routes cases to offices and is "
                "reported in statistics, and names no person."),
          clear("channel", enumeration_type({"duty_lawyer", "appointed_legal_aid", "pro_bono"}), kRequired,
                "How the organisation came to represent the client; clear for statistics."),
          clear("opened_on", date_type(), kRequired,
                "Date representation began; clear because statistics count cases by it."),
          clear("closed_on", date_type(), kOptional,
                "Date representation ended; clear because statistics count outcomes by it."),
          clear("outcome",
                enumeration_type({"not_guilty", "charges_dropped", "convicted", "sentence_reduced",
                                  "defense_recommendation_adopted"}),
                kOptional,
                "Result of the proceedings; clear because impact is reported as counts of outcomes."),
          clear("juvenile", boolean_type(), kOptional,
                "Whether the client is a child; clear because juvenile cases need routing to "
                "specialised lawyers and are reported separately."),
          clear("disability", boolean_type(), kOptional,
                "Whether the client has a disability needing accommodation; clear for routing and "
                "statistics, without saying which."),
          clear("interpreter_needed", boolean_type(), kOptional,
                "Whether visits need an interpreter; clear so that visits can be planned, without the "
                "language, which is sealed."),
          clear("legal_hold", boolean_type(), kOptional,
                "Whether purge is forbidden whatever the retention date (absent means false); clear "
                "because the server enforces it."),
          clear("retention_until", date_type(), kOptional,
                "Last day the case must be kept; clear because the server refuses purge until after it."),
          sealed("charges", text_type(4096), kOptional,
                 "Charges as written by the prosecution; sealed because they identify the client."),
          sealed("summary", text_type(16384), kOptional,
                 "The lawyer's summary of the case; sealed because it quotes and identifies people."),
          clear("in_pretrial_detention", boolean_type(), kOptional,
                "Whether the client is held in pre-trial detention; clear so that the organisation can "
                "report how many detained people it represents.",
                2),
      },
      {}, {DateOrderRule{.earlier = "opened_on", .later = "closed_on"}});
}

CollectionDeclaration clients() {
  return collection(
      "clients", "The person represented in a case.", Lifecycle::editable,
      {
          clear("age_band", enumeration_type({"under_14", "14_15", "16_17", "18_plus", "unknown"}), kRequired,
                "Age band rather than birth date; clear because juvenile procedure depends on it, and a "
                "band does not identify anyone."),
          clear("juvenile", boolean_type(), kOptional,
                "Whether the client is a child, derived from the age band; clear for routing and "
                "statistics."),
          clear("gender", enumeration_type({"female", "male", "other", "not_recorded"}), kOptional,
                "Gender category; clear because statistics are reported by it, and a category names no "
                "one."),
          clear("disability_category",
                enumeration_type({"none", "physical", "sensory", "intellectual", "psychosocial", "multiple",
                                  "not_recorded"}),
                kOptional,
                "Broad category of disability; clear so that accommodations can be arranged and "
                "reported, while medical detail stays sealed."),
          sealed("names", text_type(512), kRequired, "Full names; sealed because they identify the client."),
          sealed("aliases", text_type(1024), kOptional,
                 "Other names used; sealed because they identify the client."),
          sealed("identity_number", text_type(64), kOptional,
                 "National identity or prisoner number; sealed because it identifies the client."),
          sealed("date_of_birth", date_type(), kOptional,
                 "Date of birth; sealed because together with a province it identifies the client."),
          sealed("address", text_type(1024), kOptional,
                 "Home address; sealed because it identifies and locates the client."),
          sealed("family_contacts", text_type(4096), kOptional,
                 "Relatives to notify and how to reach them; sealed because it identifies and locates "
                 "them."),
          sealed("language", text_type(64), kOptional,
                 "Language the client speaks; sealed because it can single out a member of a minority."),
      },
      {DerivedFlagRule{.flag = "juvenile",
                       .source = "age_band",
                       .true_when = {"under_14", "14_15", "16_17"},
                       .false_when = {"18_plus"}}});
}

CollectionDeclaration interviews() {
  const std::vector<std::string> yes_no_unknown = {"yes", "no", "unknown"};
  return collection(
      "interviews", "One intake interview with a client, immutable once finalized.",
      Lifecycle::draft_finalized,
      {
          clear("held_on", date_type(), kRequired,
                "Date of the interview; clear because statistics count interviews by it."),
          clear("place_type", enumeration_type({"detention_centre", "police_station", "court", "office"}),
                kRequired,
                "Kind of place; clear for statistics on access to detainees, without naming the place."),
          clear("duration_minutes", integer_type(0, 1440), kOptional,
                "Length of the interview in minutes; clear for workload statistics."),
          clear("status", lifecycle_status(), kRequired,
                "Draft or finalized; clear because the server refuses edits to finalized interviews."),
          clear("finalized_at", timestamp_type(), kOptional,
                "When the lawyer finalized it (ms since epoch); clear because finalization needs it and "
                "the server enforces immutability."),
          clear("case_record", reference_type(), kRequired,
                "The cases record this interview belongs to; clear so that statistics can count "
                "interviews by the case's stage and province."),
          sealed("place_name", text_type(256), kOptional,
                 "Name of the detention centre or station; sealed because with a date it locates the "
                 "client."),
          sealed("attendees", text_type(2048), kOptional, "Who was present; sealed because it names people."),
          sealed("interpreter", text_type(256), kOptional,
                 "The interpreter's name; sealed because it names a person."),
          sealed("notes", text_type(65536), kOptional,
                 "The lawyer's notes of the interview; sealed because they quote the client."),
          sealed("arrest_time", timestamp_type(), kOptional,
                 "When the client was arrested (ms since epoch); sealed because it is the client's "
                 "account and identifies the event."),
          sealed("rights_read", enumeration_type({"yes", "no", "partially", "unknown"}), kOptional,
                 "Whether the client was told their rights; sealed because it is the client's account "
                 "of their custody."),
          sealed("counsel_access",
                 enumeration_type(
                     {"before_questioning", "during_questioning", "after_questioning", "denied", "unknown"}),
                 kOptional,
                 "When the client first saw a lawyer; sealed because it is the client's account of "
                 "their custody."),
          sealed("family_notified", enumeration_type(yes_no_unknown), kOptional,
                 "Whether the family was told of the arrest; sealed because it is the client's account."),
          sealed("custody_treatment", text_type(16384), kOptional,
                 "How the client was treated in custody; sealed because it may document torture and "
                 "endanger the client."),
          sealed("injuries_observed", text_type(16384), kOptional,
                 "Injuries the lawyer saw; sealed because it documents possible torture."),
          sealed("coercion_allegation", text_type(16384), kOptional,
                 "The client's account of coercion to confess; sealed because it endangers the client."),
          sealed("medical_needs", text_type(4096), kOptional,
                 "Medical needs reported; sealed because it is health data."),
      });
}

CollectionDeclaration consents() {
  return collection(
      "consents", "A consent the client gave, immutable once finalized.", Lifecycle::draft_finalized,
      {
          clear("scope", enumeration_type({"representation", "recording", "data_sharing"}), kRequired,
                "What the client consented to; clear because the server and supervisors check that "
                "consent exists before recording or sharing."),
          clear("given_on", date_type(), kRequired,
                "Date consent was given; clear so that its validity can be checked."),
          clear("method", enumeration_type({"signed", "verbal_witnessed", "thumbprint"}), kRequired,
                "How consent was recorded; clear so that its form can be checked without reading it."),
          clear("status", lifecycle_status(), kRequired,
                "Draft or finalized; clear because the server refuses edits to finalized consents."),
          clear("finalized_at", timestamp_type(), kOptional,
                "When the lawyer finalized it (ms since epoch); clear because the server enforces "
                "immutability."),
          sealed("witness", text_type(256), kOptional,
                 "Who witnessed a verbal or thumbprint consent; sealed because it names a person."),
          sealed("signature_attachment", reference_type(), kOptional,
                 "The attachments record holding the signed form; sealed because linking it would "
                 "reveal which image shows the client's signature."),
      });
}

CollectionDeclaration notes() {
  return collection(
      "notes", "A free-text note in a case.", Lifecycle::editable,
      {
          clear("created_on", date_type(), kRequired,
                "Date the note was written; clear so that notes can be ordered without reading them."),
          sealed("body", text_type(65536), kRequired,
                 "The note itself; sealed because it can quote or identify anyone."),
      });
}

CollectionDeclaration tasks() {
  return collection(
      "tasks", "A hearing, deadline or visit to remember.", Lifecycle::editable,
      {
          clear("kind", enumeration_type({"hearing", "deadline", "visit"}), kRequired,
                "Kind of task; clear so that supervisors see workload without reading details."),
          clear("due_on", date_type(), kRequired,
                "Date it is due; clear so that the server can remind and supervisors can plan."),
          clear("done", boolean_type(), kOptional,
                "Whether it is done (absent means not); clear for workload views."),
          sealed("description", text_type(4096), kOptional,
                 "What to do; sealed because it can name people and places."),
      });
}

CollectionDeclaration attachments() {
  return collection(
      "attachments", "An encrypted file (recording, photo, document) uploaded with tus.", Lifecycle::editable,
      {
          clear("size_bytes", integer_type(0, std::int64_t{1} << 34), kRequired,
                "Size of the ciphertext in bytes; clear because the server bounds and resumes uploads by "
                "it."),
          clear("media_category", enumeration_type({"audio", "photo", "document"}), kRequired,
                "Broad kind of file; clear so that storage and downloads can be planned."),
          clear("ciphertext_sha256", digest_type(), kRequired,
                "SHA-256 of the ciphertext; clear so that the server can verify an upload without "
                "opening it."),
          clear("duration_seconds", integer_type(0, 86400), kOptional,
                "Length of a recording; clear for workload statistics."),
          sealed("file_name", text_type(256), kOptional,
                 "Original file name; sealed because names of files often name people."),
          sealed("description", text_type(4096), kOptional,
                 "What the file shows; sealed because it can identify people."),
          sealed("content_key", digest_type(), kOptional,
                 "The file's random 32-byte content key (64 lower-case hex) that decrypts the uploaded "
                 "ciphertext; sealed because it opens the file. Always written by devices; optional only "
                 "because version 3 added it.",
                 3),
      });
}

CollectionDeclaration amendments() {
  return collection(
      "amendments", "A correction to a finalized interview or consent, which itself stays unchanged.",
      Lifecycle::final_on_creation,
      {
          clear("amends_collection", enumeration_type({"interviews", "consents"}), kRequired,
                "Collection of the corrected record; clear so that the server can check the target."),
          clear("amends_record", reference_type(), kRequired,
                "The finalized record corrected; clear so that the server can check it is finalized."),
          clear("amended_at", timestamp_type(), kRequired,
                "When the correction was made (ms since epoch); clear for the audit trail."),
          sealed("corrected_fields", structured_type(65536), kRequired,
                 "The corrected values, as one JSON object from field name to value; sealed because "
                 "they are as sensitive as the fields they correct."),
          sealed("reason", text_type(4096), kRequired,
                 "Why the correction was needed; sealed because it may quote the client."),
      });
}

// Every field of every version, in declaration order.
SchemaDeclaration full_table() {
  return SchemaDeclaration{
      .version = kCurrentVersion,
      .collections = {cases(), clients(), interviews(), consents(), notes(), tasks(), attachments(),
                      amendments()},
  };
}

SchemaDeclaration at_version(const SchemaDeclaration& table, std::uint32_t version) {
  SchemaDeclaration subset{.version = version, .collections = {}};
  for (const CollectionDeclaration& declared : table.collections) {
    CollectionDeclaration kept = declared;
    std::erase_if(kept.fields, [&](const FieldDeclaration& field) { return field.since_version > version; });
    subset.collections.push_back(std::move(kept));
  }
  return subset;
}

const std::vector<SchemaDeclaration>& all_versions() {
  static const std::vector<SchemaDeclaration> versions = [] {
    const SchemaDeclaration table = full_table();
    std::vector<SchemaDeclaration> built;
    for (std::uint32_t version = 1; version <= kCurrentVersion; ++version) {
      built.push_back(at_version(table, version));
    }
    return built;
  }();
  return versions;
}

}  // namespace

std::uint32_t current_version() { return kCurrentVersion; }

Result<const SchemaDeclaration*> declaration(std::uint32_t version) {
  if (version < 1 || version > kCurrentVersion) {
    return make_error("unsupported_schema_version", "schema version " + std::to_string(version) +
                                                        " is not between 1 and " +
                                                        std::to_string(kCurrentVersion));
  }
  return &all_versions()[version - 1];
}

const SchemaDeclaration& current_declaration() { return all_versions()[kCurrentVersion - 1]; }

}  // namespace casefile::schema
