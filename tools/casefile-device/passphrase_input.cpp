#include "tools/casefile-device/passphrase_input.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/file_descriptor.hpp"
#include "crypto/bytes.hpp"
#include "crypto/constant_time.hpp"

namespace casefile::device_tool {
namespace {

// Reads up to the first newline (or the end) into a wiping buffer; a trailing
// carriage return is dropped, so a file written on Windows works.
Result<crypto::SecretBytes> read_line(int descriptor) {
  crypto::SecretBytes buffer(kMaximumPassphraseBytes + 1);
  std::size_t length = 0;
  while (length < buffer.size()) {
    char byte = 0;
    const ssize_t n = ::read(descriptor, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return make_error("io_error", std::string("cannot read the passphrase: ") + std::strerror(errno));
    if (n == 0 || byte == '\n') break;
    buffer.data()[length++] = static_cast<std::uint8_t>(byte);
  }
  if (length > kMaximumPassphraseBytes) {
    return make_error("passphrase_too_long",
                      "a passphrase is at most " + std::to_string(kMaximumPassphraseBytes) + " bytes");
  }
  if (length > 0 && buffer.data()[length - 1] == '\r') --length;
  return crypto::SecretBytes(buffer.view().first(length));
}

// Turns echo off on the terminal for as long as it lives.
class EchoOff {
 public:
  explicit EchoOff(int terminal) : terminal_(terminal) {
    if (::tcgetattr(terminal_, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    restore_ = ::tcsetattr(terminal_, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (restore_) ::tcsetattr(terminal_, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  int terminal_;
  termios saved_{};
  bool restore_ = false;
};

Result<crypto::SecretBytes> prompt(int terminal, std::string_view text) {
  const std::string question = std::string(text) + ": ";
  if (::write(terminal, question.data(), question.size()) < 0) {
    return make_error("io_error", "cannot write to the terminal");
  }
  Result<crypto::SecretBytes> line = [&] {
    EchoOff quiet(terminal);
    return read_line(terminal);
  }();
  if (::write(terminal, "\n", 1) < 0) return make_error("io_error", "cannot write to the terminal");
  return line;
}

Result<crypto::SecretBytes> from_terminal(const PassphraseSource& source) {
  FileDescriptor terminal(::open("/dev/tty", O_RDWR | O_CLOEXEC));
  if (terminal.get() < 0) {
    return make_error("passphrase_required", "no terminal to ask for the " + std::string(source.prompt) +
                                                 "; set " + std::string(source.environment_variable) +
                                                 " or give a file");
  }
  auto first = prompt(terminal.get(), source.prompt);
  if (!first.ok() || !source.confirm) return first;
  auto second = prompt(terminal.get(), std::string(source.prompt) + " (again)");
  if (!second.ok()) return second;
  if (!crypto::constant_time_equal(first->view(), second->view())) {
    return make_error("passphrase_mismatch", "the two entries differ");
  }
  return first;
}

Result<crypto::SecretBytes> from_any_source(const PassphraseSource& source) {
  if (const char* value = std::getenv(std::string(source.environment_variable).c_str())) {
    const std::string_view text(value);
    if (text.size() > kMaximumPassphraseBytes) {
      return make_error("passphrase_too_long",
                        "a passphrase is at most " + std::to_string(kMaximumPassphraseBytes) + " bytes");
    }
    return crypto::SecretBytes(crypto::as_bytes(text));
  }
  if (source.file) {
    FileDescriptor file(::open(source.file->c_str(), O_RDONLY | O_CLOEXEC));
    if (file.get() < 0) {
      return make_error("io_error",
                        "cannot open passphrase file " + *source.file + ": " + std::strerror(errno));
    }
    return read_line(file.get());
  }
  return from_terminal(source);
}

}  // namespace

Result<crypto::SecretBytes> read_passphrase(const PassphraseSource& source) {
  auto passphrase = from_any_source(source);
  if (passphrase.ok() && passphrase->empty()) {
    return make_error("passphrase_empty", "the " + std::string(source.prompt) + " is empty");
  }
  return passphrase;
}

std::string_view passphrase_text(const crypto::SecretBytes& passphrase) {
  return {reinterpret_cast<const char*>(passphrase.data()), passphrase.size()};
}

}  // namespace casefile::device_tool
