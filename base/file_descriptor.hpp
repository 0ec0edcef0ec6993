// FileDescriptor: a POSIX file descriptor closed on every path out of scope
// (RAII, STYLE.md habit 5). Not copyable.
#pragma once

#include <unistd.h>

#include <utility>

namespace casefile {

class FileDescriptor {
 public:
  explicit FileDescriptor(int descriptor) : descriptor_(descriptor) {}
  ~FileDescriptor() {
    if (descriptor_ >= 0) ::close(descriptor_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  int get() const { return descriptor_; }
  // Closes now, reporting the error a deferred write may surface only here.
  bool close() { return ::close(std::exchange(descriptor_, -1)) == 0; }

 private:
  int descriptor_;
};

}  // namespace casefile
