// A throwaway PostgreSQL 15 cluster for the tests of one test executable:
// initdb into a fresh temporary directory, a server on a free loopback port
// (its unix socket in that directory too), password authentication, and a
// fresh schema for each test. It starts on first use and is stopped and
// removed when the process exits; if the process dies first, a watchdog
// process (which waits for the test process's end of a pipe to close) stops
// and removes it.
//
// Runs from Debian's packages (postgresql-15, tools/install-deps). initdb
// refuses to run as root, so as root the cluster runs as Debian's `postgres`
// system user (runuser). A missing PostgreSQL is an error that fails the test
// (std::runtime_error), never a skip.
//
// The tests' server runs with fsync=off: tests never crash it, only its
// clients, and an fsync per commit would make the suite slower and prove
// nothing more. A benchmark (casefile-bench scenario 8) starts a durable one
// of its own instead: PostgreSQL's defaults, an fsync per commit, as
// SQLCipher's synchronous=FULL.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "crypto/secret_bytes.hpp"
#include "server/store/postgres_connection.hpp"
#include "tests/support/shell_command.hpp"

namespace casefile::test_support {

inline constexpr const char* kPostgresBinaries = "/usr/lib/postgresql/15/bin";

class PostgresCluster {
 public:
  // The cluster of this process, started on first use.
  static PostgresCluster& shared() {
    static std::mutex mutex;
    static std::unique_ptr<PostgresCluster> cluster;
    const std::lock_guard lock(mutex);
    if (!cluster) cluster = std::make_unique<PostgresCluster>(Durability::fsync_off);
    return *cluster;
  }

  enum class Durability { fsync_off, durable };

  // A cluster of its own (shared() is the tests' one), stopped and removed
  // with the object. Throws std::runtime_error, as shared() does.
  explicit PostgresCluster(Durability durability) : durability_(durability) { start(); }

  ~PostgresCluster() {
    (void)run_shell_command(as_owner("pg_ctl -D " + data_directory() + " -m fast -w stop") +
                            " >/dev/null 2>&1");
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
    if (watchdog_pipe_ >= 0) close(watchdog_pipe_);  // the watchdog finds nothing left and exits
    if (watchdog_ > 0) waitpid(watchdog_, nullptr, 0);
  }
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  // A new empty schema, and a libpq connection string whose search_path
  // selects it: one test's database.
  std::string new_schema_connection_string() {
    const std::string schema = "casefile_test_" + std::to_string(++schemas_);
    auto connection = server::postgres::Connection::open(secret(connection_string("public")));
    if (!connection.ok())
      throw std::runtime_error("connect to the test cluster: " + connection.error().message);
    Status created = (*connection)->execute_script("CREATE SCHEMA " + schema);
    if (!created.ok()) throw std::runtime_error("CREATE SCHEMA: " + created.error().message);
    return connection_string(schema);
  }

  // The connection string for `schema` (a password login over loopback TCP).
  std::string connection_string(const std::string& schema) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) +
           " dbname=postgres user=casefile password=" + password_ +
           " connect_timeout=10 gssencmode=disable sslmode=disable options=-csearch_path=" + schema;
  }

  unsigned short port() const { return port_; }

  // The postmaster's process id (the first line of postmaster.pid), whose
  // children are the server's other processes; 0 when unreadable.
  pid_t postmaster_pid() const {
    std::ifstream in(directory_ / "data" / "postmaster.pid");
    long pid = 0;
    in >> pid;
    return static_cast<pid_t>(pid);
  }

  static crypto::SecretBytes secret(const std::string& text) {
    return crypto::SecretBytes(crypto::as_bytes(text));
  }

 private:
  void start() {
    const std::filesystem::path binaries(kPostgresBinaries);
    if (!std::filesystem::exists(binaries / "initdb") || !std::filesystem::exists(binaries / "pg_ctl")) {
      throw std::runtime_error(std::string("PostgreSQL 15 is not installed (no ") + kPostgresBinaries +
                               "/initdb): run tools/install-deps");
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "casefile-postgres-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    directory_ = pattern;
    if (geteuid() == 0) {
      const passwd* owner = getpwnam("postgres");
      if (owner == nullptr)
        throw std::runtime_error("running as root, but there is no `postgres` system user");
      if (chown(directory_.c_str(), owner->pw_uid, owner->pw_gid) != 0)
        throw std::runtime_error("chown failed");
      run_as_postgres_ = true;
    }
    start_watchdog();

    auto random = crypto::random_bytes(16);
    if (!random.ok()) throw std::runtime_error("random_bytes failed");
    password_ = crypto::to_hex(*random);
    const std::filesystem::path password_file = directory_ / "password";
    {
      std::ofstream out(password_file);
      out << password_ << '\n';
    }
    if (run_as_postgres_) {
      const passwd* owner = getpwnam("postgres");
      if (chown(password_file.c_str(), owner->pw_uid, owner->pw_gid) != 0)
        throw std::runtime_error("chown failed");
    }
    chmod(password_file.c_str(), 0600);

    run_or_throw("initdb -D " + data_directory() + " -U casefile --pwfile=" + password_file.string() +
                 " -A scram-sha-256 -E UTF8 --locale=C --no-sync --no-instructions");
    std::filesystem::remove(password_file);

    // A port found free may be taken before the server binds it: try again.
    std::string failure;
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_loopback_port();
      const CommandRun started =
          run("pg_ctl -D " + data_directory() + " -l " + (directory_ / "server.log").string() +
              " -w -t 60 -o \"-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " +
              directory_.string() +
              (durability_ == Durability::fsync_off
                   ? " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
                   : "") +
              " -c max_connections=200\" start");
      if (started.exit_code == 0) return;
      failure = started.out;
    }
    throw std::runtime_error("pg_ctl start failed: " + failure + server_log());
  }

  std::string data_directory() const { return (directory_ / "data").string(); }

  // `command` (a program in kPostgresBinaries and its arguments) as the
  // cluster's owner, from the cluster's directory (postgres may not be able
  // to read the test's working directory).
  std::string as_owner(const std::string& command) const {
    const std::string program = std::string(kPostgresBinaries) + "/" + command;
    return "cd " + directory_.string() + " && " + (run_as_postgres_ ? "runuser -u postgres -- " : "") +
           program;
  }

  CommandRun run(const std::string& command) const { return run_shell_command(as_owner(command) + " 2>&1"); }

  void run_or_throw(const std::string& command) const {
    const CommandRun result = run(command);
    if (result.exit_code != 0) throw std::runtime_error(command + " failed: " + result.out);
  }

  std::string server_log() const {
    std::ifstream in(directory_ / "server.log");
    return std::string("\nserver.log:\n") + std::string(std::istreambuf_iterator<char>(in), {});
  }

  static unsigned short free_loopback_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      close(fd);
      throw std::runtime_error("bind to a free loopback port failed");
    }
    close(fd);
    return ntohs(address.sin_port);
  }

  // A child process that stops and removes the cluster once this process is
  // gone, however it ended (its end of the pipe closes with it).
  void start_watchdog() {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    const std::string stop = as_owner("pg_ctl -D " + data_directory() + " -m immediate -w stop") +
                             " >/dev/null 2>&1; rm -rf " + directory_.string();
    watchdog_ = fork();
    if (watchdog_ < 0) throw std::runtime_error("fork failed");
    if (watchdog_ == 0) {
      close(fds[1]);
      const int null = open("/dev/null", O_RDWR);
      dup2(null, STDIN_FILENO);
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
      char byte = 0;
      ssize_t n = 0;
      do {
        n = read(fds[0], &byte, 1);
      } while (n > 0 || (n < 0 && errno == EINTR));
      if (access(directory_.c_str(), F_OK) == 0) execl("/bin/sh", "sh", "-c", stop.c_str(), nullptr);
      _exit(0);
    }
    close(fds[0]);
    // Keep the write end out of programs the tests exec: only this process holds it.
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    watchdog_pipe_ = fds[1];
  }

  Durability durability_;
  std::filesystem::path directory_;
  bool run_as_postgres_ = false;
  std::string password_;
  unsigned short port_ = 0;
  std::atomic<int> schemas_{0};
  pid_t watchdog_ = -1;
  int watchdog_pipe_ = -1;
};

}  // namespace casefile::test_support
