#include "server/access/internal/control_store_migrations.hpp"

#include <vector>

namespace casefile::server::internal {

std::span<const schema::Migration> control_store_migrations() {
  static const std::vector<schema::Migration> migrations = {
      {1, "identity, access and audit tables", R"sql(
CREATE TABLE users(
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('lawyer', 'supervisor', 'admin')),
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE devices(
  id BLOB PRIMARY KEY CHECK (length(id) = 16),
  user TEXT NOT NULL REFERENCES users(name),
  signing_key BLOB NOT NULL CHECK (length(signing_key) = 32),
  wrapping_key BLOB NOT NULL CHECK (length(wrapping_key) = 32),
  state TEXT NOT NULL CHECK (state IN ('pending', 'certified', 'revoked')),
  enrolled_at INTEGER NOT NULL,
  certificate BLOB,
  wipe_order BLOB
) WITHOUT ROWID;
CREATE INDEX devices_by_user ON devices(user);

CREATE TABLE enrolment_codes(
  code_hash BLOB PRIMARY KEY CHECK (length(code_hash) = 32),
  user TEXT NOT NULL REFERENCES users(name),
  expires_at INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE auth_challenges(
  challenge BLOB PRIMARY KEY,
  device BLOB NOT NULL REFERENCES devices(id),
  expires_at INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX auth_challenges_by_device ON auth_challenges(device);

CREATE TABLE tokens(
  token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
  device BLOB NOT NULL REFERENCES devices(id),
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_by_device ON tokens(device);

CREATE TABLE cases(
  id BLOB PRIMARY KEY CHECK (length(id) = 16),
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE case_members(
  case_id BLOB NOT NULL REFERENCES cases(id),
  user TEXT NOT NULL REFERENCES users(name),
  added_at INTEGER NOT NULL,
  PRIMARY KEY (case_id, user)
) WITHOUT ROWID;
CREATE INDEX case_members_by_user ON case_members(user, case_id);

CREATE TABLE audit_log(
  sequence INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  actor TEXT NOT NULL,
  event TEXT NOT NULL,
  subject TEXT NOT NULL,
  details TEXT NOT NULL,
  hash BLOB NOT NULL CHECK (length(hash) = 32)
);
CREATE INDEX audit_log_by_time ON audit_log(time);
CREATE INDEX audit_log_by_event ON audit_log(event, sequence);
CREATE INDEX audit_log_by_subject ON audit_log(subject, sequence);
CREATE INDEX audit_log_by_actor ON audit_log(actor, sequence);

-- Append-only through this schema; the hash chain catches whoever edits the
-- file another way (docs/audit.md).
CREATE TRIGGER audit_log_refuses_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_refuses_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql",
       nullptr},
  };
  return migrations;
}

}  // namespace casefile::server::internal
