#include "tools/casefile-admin/terminal_qr.hpp"

#include <qrencode.h>

#include <memory>

namespace casefile::admin {

Result<std::string> render_terminal_qr(std::string_view payload) {
  const std::string text(payload);
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
  if (!code) return make_error("qr_failed", "the enrolment payload does not fit a QR code");
  constexpr int kQuietZone = 4;
  const int width = code->width;
  const int size = width + 2 * kQuietZone;
  // Dark module at (x, y) of the padded square; the quiet zone is light.
  const auto dark = [&](int x, int y) {
    x -= kQuietZone;
    y -= kQuietZone;
    if (x < 0 || y < 0 || x >= width || y >= width) return false;
    return (code->data[y * width + x] & 1) != 0;
  };
  std::string out;
  for (int y = 0; y < size; y += 2) {
    for (int x = 0; x < size; ++x) {
      const bool top_light = !dark(x, y);
      const bool bottom_light = y + 1 < size ? !dark(x, y + 1) : false;
      if (top_light && bottom_light) {
        out += "\u2588";  // full block
      } else if (top_light) {
        out += "\u2580";  // upper half block
      } else if (bottom_light) {
        out += "\u2584";  // lower half block
      } else {
        out += " ";
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace casefile::admin
