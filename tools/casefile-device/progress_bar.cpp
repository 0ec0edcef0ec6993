#include "tools/casefile-device/progress_bar.hpp"

#include <unistd.h>

#include <algorithm>
#include <iostream>

namespace casefile::device_tool {

std::string render_progress_line(std::string_view label, std::uint64_t done, std::uint64_t total,
                                 std::size_t bar_width) {
  std::string line(label);
  if (total == 0) return line + " " + std::to_string(done);
  const std::uint64_t shown = std::min(done, total);
  auto filled = static_cast<std::size_t>(static_cast<long double>(shown) / static_cast<long double>(total) *
                                         static_cast<long double>(bar_width));
  // Full only when done, whatever the rounding.
  filled = std::min(filled, shown < total && bar_width > 0 ? bar_width - 1 : bar_width);
  const std::string total_text = std::to_string(total);
  std::string done_text = std::to_string(done);
  done_text.insert(0, total_text.size() > done_text.size() ? total_text.size() - done_text.size() : 0, ' ');
  line += " [";
  line.append(filled, '#');
  line.append(bar_width - filled, '-');
  line += "] " + done_text + "/" + total_text;
  return line;
}

void TerminalProgressBar::show(std::string_view label, std::uint64_t done, std::uint64_t total) {
  if (!enabled_) return;
  // \r and erase-to-end-of-line: redraw in place, whatever was longer before.
  std::cerr << "\r" << render_progress_line(label, done, total, 30) << "\x1b[K" << std::flush;
  drawn_ = true;
}

void TerminalProgressBar::finish() {
  if (!drawn_) return;
  std::cerr << "\n" << std::flush;
  drawn_ = false;
}

bool standard_error_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace casefile::device_tool
