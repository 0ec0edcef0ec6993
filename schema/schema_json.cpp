#include "schema/schema_json.hpp"

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <initializer_list>
#include <utility>
#include <vector>

namespace casefile::schema {
namespace {

namespace json = boost::json;

constexpr std::array kAllKinds = {FieldKind::text,      FieldKind::integer,   FieldKind::boolean,
                                  FieldKind::date,      FieldKind::timestamp, FieldKind::enumeration,
                                  FieldKind::reference, FieldKind::digest,    FieldKind::structured};

std::string_view lifecycle_name(Lifecycle lifecycle) {
  switch (lifecycle) {
    case Lifecycle::editable:
      return "editable";
    case Lifecycle::draft_finalized:
      return "draft_finalized";
    case Lifecycle::final_on_creation:
      return "final_on_creation";
  }
  return "editable";
}

json::array string_array(const std::vector<std::string>& values) {
  json::array array;
  for (const std::string& value : values) array.emplace_back(value);
  return array;
}

json::object constraint_to_json(const FieldType& type) {
  json::object constraint;
  switch (type.kind) {
    case FieldKind::text:
    case FieldKind::structured:
      constraint["max_length"] = static_cast<std::int64_t>(type.max_length);
      break;
    case FieldKind::integer:
    case FieldKind::timestamp:
      constraint["minimum"] = type.minimum;
      constraint["maximum"] = type.maximum;
      break;
    case FieldKind::enumeration:
      constraint["values"] = string_array(type.values);
      break;
    default:
      break;
  }
  return constraint;
}

json::object field_to_json(const FieldDeclaration& field) {
  json::object object;
  object["name"] = field.name;
  object["type"] = field_kind_name(field.type.kind);
  object["constraint"] = constraint_to_json(field.type);
  object["protection"] = field.protection == Protection::clear ? "clear" : "sealed";
  object["required"] = field.presence == Presence::required;
  object["since_version"] = static_cast<std::int64_t>(field.since_version);
  object["description"] = field.description;
  return object;
}

json::object collection_to_json(const CollectionDeclaration& collection) {
  json::object object;
  object["name"] = collection.name;
  object["description"] = collection.description;
  object["lifecycle"] = lifecycle_name(collection.lifecycle);
  json::array fields;
  for (const FieldDeclaration& field : collection.fields) fields.emplace_back(field_to_json(field));
  object["fields"] = std::move(fields);
  json::array rules;
  for (const DateOrderRule& rule : collection.date_orders) {
    rules.emplace_back(
        json::object{{"rule", "date_order"}, {"earlier", rule.earlier}, {"later", rule.later}});
  }
  for (const DerivedFlagRule& rule : collection.derived_flags) {
    rules.emplace_back(json::object{{"rule", "derived_flag"},
                                    {"flag", rule.flag},
                                    {"source", rule.source},
                                    {"true_when", string_array(rule.true_when)},
                                    {"false_when", string_array(rule.false_when)}});
  }
  object["rules"] = std::move(rules);
  return object;
}

// Parsing: each reader names what it was reading in its error.

Error invalid(std::string_view where, std::string_view what) {
  return make_error("invalid_schema_json", std::string(where) + ": " + std::string(what));
}

Result<const json::object*> as_object(const json::value& value, std::string_view where) {
  if (!value.is_object()) return invalid(where, "expected an object");
  return &value.get_object();
}

// `object` has exactly `keys`.
Status expect_keys(const json::object& object, std::initializer_list<std::string_view> keys,
                   std::string_view where) {
  for (std::string_view key : keys) {
    if (!object.contains(key)) return invalid(where, "missing key '" + std::string(key) + "'");
  }
  if (object.size() != keys.size()) return invalid(where, "unexpected key");
  return ok_status();
}

Result<std::string> read_string(const json::object& object, std::string_view key, std::string_view where) {
  const json::value& value = object.at(key);
  if (!value.is_string()) return invalid(where, "'" + std::string(key) + "' must be a string");
  return std::string(value.get_string());
}

Result<std::int64_t> read_integer(const json::object& object, std::string_view key, std::string_view where) {
  const json::value& value = object.at(key);
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64() && value.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(value.get_uint64());
  }
  return invalid(where, "'" + std::string(key) + "' must be an integer");
}

Result<std::vector<std::string>> read_strings(const json::object& object, std::string_view key,
                                              std::string_view where) {
  const json::value& value = object.at(key);
  if (!value.is_array()) return invalid(where, "'" + std::string(key) + "' must be an array");
  std::vector<std::string> strings;
  for (const json::value& element : value.get_array()) {
    if (!element.is_string()) return invalid(where, "'" + std::string(key) + "' must hold strings");
    strings.emplace_back(element.get_string());
  }
  return strings;
}

#define CASEFILE_ASSIGN_OR_RETURN(target, expr)                         \
  auto target##_result = (expr);                                        \
  if (!target##_result.ok()) return std::move(target##_result).error(); \
  auto target = std::move(target##_result).value()

Result<FieldType> read_type(const std::string& kind_name, const json::object& constraint,
                            std::string_view where) {
  FieldType type;
  bool known = false;
  for (FieldKind kind : kAllKinds) {
    if (field_kind_name(kind) == kind_name) {
      type.kind = kind;
      known = true;
    }
  }
  if (!known) return invalid(where, "unknown type");
  switch (type.kind) {
    case FieldKind::text:
    case FieldKind::structured: {
      CASEFILE_RETURN_IF_ERROR(expect_keys(constraint, {"max_length"}, where));
      CASEFILE_ASSIGN_OR_RETURN(max_length, read_integer(constraint, "max_length", where));
      if (max_length < 0) return invalid(where, "negative max_length");
      type.max_length = static_cast<std::size_t>(max_length);
      break;
    }
    case FieldKind::integer:
    case FieldKind::timestamp: {
      CASEFILE_RETURN_IF_ERROR(expect_keys(constraint, {"minimum", "maximum"}, where));
      CASEFILE_ASSIGN_OR_RETURN(minimum, read_integer(constraint, "minimum", where));
      CASEFILE_ASSIGN_OR_RETURN(maximum, read_integer(constraint, "maximum", where));
      type.minimum = minimum;
      type.maximum = maximum;
      break;
    }
    case FieldKind::enumeration: {
      CASEFILE_RETURN_IF_ERROR(expect_keys(constraint, {"values"}, where));
      CASEFILE_ASSIGN_OR_RETURN(values, read_strings(constraint, "values", where));
      type.values = std::move(values);
      break;
    }
    default:
      CASEFILE_RETURN_IF_ERROR(expect_keys(constraint, {}, where));
      break;
  }
  return type;
}

Result<FieldDeclaration> read_field(const json::value& value, const std::string& where) {
  CASEFILE_ASSIGN_OR_RETURN(object, as_object(value, where));
  CASEFILE_RETURN_IF_ERROR(expect_keys(
      *object, {"name", "type", "constraint", "protection", "required", "since_version", "description"},
      where));
  FieldDeclaration field;
  CASEFILE_ASSIGN_OR_RETURN(name, read_string(*object, "name", where));
  CASEFILE_ASSIGN_OR_RETURN(kind, read_string(*object, "type", where));
  CASEFILE_ASSIGN_OR_RETURN(constraint, as_object(object->at("constraint"), where + ".constraint"));
  CASEFILE_ASSIGN_OR_RETURN(type, read_type(kind, *constraint, where + ".constraint"));
  CASEFILE_ASSIGN_OR_RETURN(protection, read_string(*object, "protection", where));
  CASEFILE_ASSIGN_OR_RETURN(since_version, read_integer(*object, "since_version", where));
  CASEFILE_ASSIGN_OR_RETURN(description, read_string(*object, "description", where));
  const json::value& required = object->at("required");
  if (protection != "clear" && protection != "sealed") return invalid(where, "unknown protection");
  if (!required.is_bool()) return invalid(where, "'required' must be a boolean");
  if (since_version < 1 || since_version > UINT32_MAX) return invalid(where, "since_version out of range");
  field.name = std::move(name);
  field.type = std::move(type);
  field.protection = protection == "clear" ? Protection::clear : Protection::sealed;
  field.presence = required.get_bool() ? Presence::required : Presence::optional;
  field.since_version = static_cast<std::uint32_t>(since_version);
  field.description = std::move(description);
  return field;
}

Status read_rule(const json::value& value, const std::string& where, CollectionDeclaration& collection) {
  CASEFILE_ASSIGN_OR_RETURN(object, as_object(value, where));
  if (!object->contains("rule")) return invalid(where, "missing key 'rule'");
  CASEFILE_ASSIGN_OR_RETURN(rule, read_string(*object, "rule", where));
  if (rule == "date_order") {
    CASEFILE_RETURN_IF_ERROR(expect_keys(*object, {"rule", "earlier", "later"}, where));
    CASEFILE_ASSIGN_OR_RETURN(earlier, read_string(*object, "earlier", where));
    CASEFILE_ASSIGN_OR_RETURN(later, read_string(*object, "later", where));
    collection.date_orders.push_back(DateOrderRule{std::move(earlier), std::move(later)});
    return ok_status();
  }
  if (rule == "derived_flag") {
    CASEFILE_RETURN_IF_ERROR(
        expect_keys(*object, {"rule", "flag", "source", "true_when", "false_when"}, where));
    CASEFILE_ASSIGN_OR_RETURN(flag, read_string(*object, "flag", where));
    CASEFILE_ASSIGN_OR_RETURN(source, read_string(*object, "source", where));
    CASEFILE_ASSIGN_OR_RETURN(true_when, read_strings(*object, "true_when", where));
    CASEFILE_ASSIGN_OR_RETURN(false_when, read_strings(*object, "false_when", where));
    collection.derived_flags.push_back(
        DerivedFlagRule{std::move(flag), std::move(source), std::move(true_when), std::move(false_when)});
    return ok_status();
  }
  return invalid(where, "unknown rule");
}

Result<CollectionDeclaration> read_collection(const json::value& value, const std::string& where) {
  CASEFILE_ASSIGN_OR_RETURN(object, as_object(value, where));
  CASEFILE_RETURN_IF_ERROR(
      expect_keys(*object, {"name", "description", "lifecycle", "fields", "rules"}, where));
  CollectionDeclaration collection;
  CASEFILE_ASSIGN_OR_RETURN(name, read_string(*object, "name", where));
  CASEFILE_ASSIGN_OR_RETURN(description, read_string(*object, "description", where));
  CASEFILE_ASSIGN_OR_RETURN(lifecycle, read_string(*object, "lifecycle", where));
  collection.name = std::move(name);
  collection.description = std::move(description);
  bool known_lifecycle = false;
  for (Lifecycle candidate :
       {Lifecycle::editable, Lifecycle::draft_finalized, Lifecycle::final_on_creation}) {
    if (lifecycle_name(candidate) == lifecycle) {
      collection.lifecycle = candidate;
      known_lifecycle = true;
    }
  }
  if (!known_lifecycle) return invalid(where, "unknown lifecycle");
  const json::value& fields = object->at("fields");
  const json::value& rules = object->at("rules");
  if (!fields.is_array() || !rules.is_array()) return invalid(where, "'fields' and 'rules' must be arrays");
  for (const json::value& field_value : fields.get_array()) {
    const std::string field_where = where + ".fields[" + std::to_string(collection.fields.size()) + "]";
    CASEFILE_ASSIGN_OR_RETURN(field, read_field(field_value, field_where));
    if (collection.find_field(field.name) != nullptr) return invalid(field_where, "repeated field name");
    collection.fields.push_back(std::move(field));
  }
  std::size_t index = 0;
  for (const json::value& rule_value : rules.get_array()) {
    CASEFILE_RETURN_IF_ERROR(
        read_rule(rule_value, where + ".rules[" + std::to_string(index++) + "]", collection));
  }
  return collection;
}

}  // namespace

json::value schema_to_json(const SchemaDeclaration& schema) {
  json::array collections;
  for (const CollectionDeclaration& collection : schema.collections) {
    collections.emplace_back(collection_to_json(collection));
  }
  return json::object{{"schema_version", static_cast<std::int64_t>(schema.version)},
                      {"collections", std::move(collections)}};
}

std::string schema_to_json_text(const SchemaDeclaration& schema) {
  return json::serialize(schema_to_json(schema));
}

Result<SchemaDeclaration> schema_from_json(std::string_view text) {
  boost::system::error_code parse_error;
  const json::value parsed = json::parse(text, parse_error);
  if (parse_error) return invalid("schema", "not JSON");
  CASEFILE_ASSIGN_OR_RETURN(object, as_object(parsed, "schema"));
  CASEFILE_RETURN_IF_ERROR(expect_keys(*object, {"schema_version", "collections"}, "schema"));
  CASEFILE_ASSIGN_OR_RETURN(version, read_integer(*object, "schema_version", "schema"));
  if (version < 1 || version > UINT32_MAX) return invalid("schema", "schema_version out of range");
  const json::value& collections = object->at("collections");
  if (!collections.is_array()) return invalid("schema", "'collections' must be an array");
  SchemaDeclaration schema{.version = static_cast<std::uint32_t>(version), .collections = {}};
  for (const json::value& collection_value : collections.get_array()) {
    const std::string where = "collections[" + std::to_string(schema.collections.size()) + "]";
    CASEFILE_ASSIGN_OR_RETURN(collection, read_collection(collection_value, where));
    if (schema.find_collection(collection.name) != nullptr) return invalid(where, "repeated collection name");
    schema.collections.push_back(std::move(collection));
  }
  return schema;
}

#undef CASEFILE_ASSIGN_OR_RETURN

}  // namespace casefile::schema
