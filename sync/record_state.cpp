#include "sync/record_state.hpp"

#include <algorithm>
#include <cassert>

namespace casefile::sync {

void RecordState::apply(const Change& change) {
  assert(change.record == key_);
  for (const Operation& operation : change.operations) {
    switch (operation.kind) {
      case OperationKind::delete_record:
        tombstones_.apply(change.id, change.hlc, NullValue{}, operation.supersedes, {});
        deleted_dots_ = merge_sorted_dots(deleted_dots_, operation.supersedes);
        for (auto it = fields_.begin(); it != fields_.end();) {
          it->second.remove_live(operation.supersedes);
          it = it->second.is_empty() ? fields_.erase(it) : std::next(it);
        }
        break;
      case OperationKind::resolve_conflict:
        tombstones_.supersede(operation.supersedes);
        [[fallthrough]];
      case OperationKind::set_field: {
        auto [it, inserted] = fields_.try_emplace(operation.field);
        it->second.apply(change.id, change.hlc, operation.value, operation.supersedes, deleted_dots_);
        if (it->second.is_empty()) fields_.erase(it);
        break;
      }
    }
  }
}

const FieldRegister* RecordState::field(const std::string& name) const {
  auto it = fields_.find(name);
  return it == fields_.end() ? nullptr : &it->second;
}

bool RecordState::has_live_field() const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [](const auto& entry) { return !entry.second.entries().empty(); });
}

bool RecordState::is_deleted() const { return !tombstones_.entries().empty() && !has_live_field(); }

bool RecordState::has_edit_delete_conflict() const {
  return !tombstones_.entries().empty() && has_live_field();
}

bool RecordState::has_field_conflict() const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [](const auto& entry) { return entry.second.in_conflict(); });
}

std::vector<Dot> RecordState::live_dots(const std::string& name) const {
  std::vector<Dot> dots;
  if (const FieldRegister* field_register = field(name)) {
    for (const RegisterEntry& entry : field_register->entries()) dots.push_back(entry.dot);
  }
  return dots;
}

std::vector<Dot> RecordState::all_live_dots() const {
  std::vector<Dot> dots;
  for (const auto& [name, field_register] : fields_) {
    for (const RegisterEntry& entry : field_register.entries()) dots.push_back(entry.dot);
  }
  for (const RegisterEntry& entry : tombstones_.entries()) dots.push_back(entry.dot);
  std::sort(dots.begin(), dots.end());
  dots.erase(std::unique(dots.begin(), dots.end()), dots.end());
  return dots;
}

RecordState RecordState::from_parts(RecordKey key, std::map<std::string, FieldRegister> fields,
                                    FieldRegister tombstones, std::vector<Dot> deleted_dots) {
  RecordState state(std::move(key));
  state.fields_ = std::move(fields);
  state.tombstones_ = std::move(tombstones);
  state.deleted_dots_ = std::move(deleted_dots);
  return state;
}

}  // namespace casefile::sync
