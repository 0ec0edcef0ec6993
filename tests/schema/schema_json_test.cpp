// GET /v1/schema serves the whole declaration, and a device can read it back
// to exactly what the server holds.
#include "schema/schema_json.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

#include "schema/intake_schema.hpp"

namespace casefile::schema {
namespace {

namespace json = boost::json;

TEST(SchemaJsonTest, EveryCollectionAndFieldAppearsWithItsDeclaration) {
  const SchemaDeclaration& schema = current_declaration();
  const json::value served = json::parse(schema_to_json_text(schema));
  EXPECT_EQ(served.at("schema_version").as_int64(), static_cast<std::int64_t>(schema.version));
  const json::array& collections = served.at("collections").as_array();
  ASSERT_EQ(collections.size(), schema.collections.size());
  for (std::size_t c = 0; c < collections.size(); ++c) {
    const CollectionDeclaration& collection = schema.collections[c];
    EXPECT_EQ(collections[c].at("name").as_string(), collection.name);
    const json::array& fields = collections[c].at("fields").as_array();
    ASSERT_EQ(fields.size(), collection.fields.size()) << collection.name;
    for (std::size_t f = 0; f < fields.size(); ++f) {
      const FieldDeclaration& field = collection.fields[f];
      const json::object& served_field = fields[f].as_object();
      EXPECT_EQ(served_field.at("name").as_string(), field.name);
      EXPECT_EQ(served_field.at("type").as_string(), field_kind_name(field.type.kind));
      EXPECT_EQ(served_field.at("protection").as_string(),
                field.protection == Protection::clear ? "clear" : "sealed");
      EXPECT_EQ(served_field.at("required").as_bool(), field.presence == Presence::required);
      EXPECT_EQ(served_field.at("description").as_string(), field.description);
      EXPECT_TRUE(served_field.at("constraint").is_object());
    }
  }
}

TEST(SchemaJsonTest, ConstraintsAreSpelledOutPerType) {
  const json::value served = schema_to_json(current_declaration());
  auto field = [&](std::string_view collection, std::string_view name) -> const json::object& {
    for (const json::value& c : served.at("collections").as_array()) {
      if (c.at("name").as_string() != collection) continue;
      for (const json::value& f : c.at("fields").as_array()) {
        if (f.at("name").as_string() == name) return f.as_object();
      }
    }
    ADD_FAILURE() << collection << "." << name << " not served";
    static const json::object none;
    return none;
  };
  EXPECT_EQ(field("cases", "province").at("constraint"), (json::object{{"max_length", 64}}));
  EXPECT_EQ(field("interviews", "duration_minutes").at("constraint"),
            (json::object{{"minimum", 0}, {"maximum", 1440}}));
  EXPECT_EQ(field("tasks", "kind").at("constraint"),
            (json::object{{"values", json::array{"hearing", "deadline", "visit"}}}));
  EXPECT_EQ(field("cases", "opened_on").at("constraint"), json::object{});
  EXPECT_EQ(field("cases", "in_pretrial_detention").at("since_version").as_int64(), 2);
}

TEST(SchemaJsonTest, EveryVersionRoundTrips) {
  for (std::uint32_t version = 1; version <= current_version(); ++version) {
    const SchemaDeclaration& schema = **declaration(version);
    auto parsed = schema_from_json(schema_to_json_text(schema));
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, schema) << "version " << version;
  }
}

TEST(SchemaJsonTest, MalformedSchemaIsRefused) {
  const std::string good = schema_to_json_text(current_declaration());
  const std::vector<std::string> bad = {
      "",
      "[]",
      R"({"schema_version": 2})",
      R"({"schema_version": 0, "collections": []})",
      R"({"schema_version": 2, "collections": [], "extra": 1})",
      R"({"schema_version": 2, "collections": [{"name": "cases", "description": "", "lifecycle": "editable",
          "fields": [{"name": "x", "type": "colour", "constraint": {}, "protection": "clear", "required": false,
          "since_version": 1, "description": ""}], "rules": []}]})",
      R"({"schema_version": 2, "collections": [{"name": "cases", "description": "", "lifecycle": "editable",
          "fields": [{"name": "x", "type": "text", "constraint": {}, "protection": "clear", "required": false,
          "since_version": 1, "description": ""}], "rules": []}]})",
      R"({"schema_version": 2, "collections": [{"name": "cases", "description": "", "lifecycle": "editable",
          "fields": [{"name": "x", "type": "boolean", "constraint": {}, "protection": "hidden", "required": false,
          "since_version": 1, "description": ""}], "rules": []}]})",
      good.substr(0, good.size() / 2),
  };
  for (const std::string& text : bad) {
    auto parsed = schema_from_json(text);
    ASSERT_FALSE(parsed.ok()) << text.substr(0, 80);
    EXPECT_EQ(parsed.error().code, "invalid_schema_json");
  }
}

}  // namespace
}  // namespace casefile::schema
