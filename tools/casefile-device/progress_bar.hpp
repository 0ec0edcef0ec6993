// The progress bar casefile-device draws on stderr during a long sync, when
// stderr is a terminal (never into a pipe or a log).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace casefile::device_tool {

// One line: "push [############------------]   512/1024". With total 0 (not
// known in advance, as for pulls) the bar is left out: "pull 1024".
// `bar_width` counts the characters between the brackets.
std::string render_progress_line(std::string_view label, std::uint64_t done, std::uint64_t total,
                                 std::size_t bar_width);

class TerminalProgressBar {
 public:
  // Draws only when `enabled`; see standard_error_is_terminal().
  explicit TerminalProgressBar(bool enabled) : enabled_(enabled) {}
  ~TerminalProgressBar() { finish(); }
  TerminalProgressBar(const TerminalProgressBar&) = delete;
  TerminalProgressBar& operator=(const TerminalProgressBar&) = delete;

  // Redraws the line in place.
  void show(std::string_view label, std::uint64_t done, std::uint64_t total);
  // Ends the line, if one was drawn.
  void finish();

 private:
  bool enabled_;
  bool drawn_ = false;
};

bool standard_error_is_terminal();

}  // namespace casefile::device_tool
