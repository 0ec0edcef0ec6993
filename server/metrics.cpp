#include "server/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <variant>

namespace casefile::server {
namespace {

enum Type { kCounter, kGauge, kHistogram };
constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string escape(std::string_view text, bool quote_too) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote_too) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// {a="x",b="y"} with `extra` (le="...") appended; "" when there are no labels.
std::string label_text(const MetricLabels& labels, std::string_view extra = {}) {
  std::string out;
  for (const auto& [key, value] : labels) {
    if (!valid_name(key)) throw std::logic_error("invalid metric label name: " + key);
    out.append(out.empty() ? "{" : ",").append(key).append("=\"").append(escape(value, true)).append("\"");
  }
  if (!extra.empty()) out.append(out.empty() ? "{" : ",").append(extra);
  if (!out.empty()) out.append("}");
  return out;
}

std::string number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      bucket_counts_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds_.size() + 1)) {
  for (std::size_t i = 0; i < upper_bounds_.size(); ++i) {
    if (!std::isfinite(upper_bounds_[i]) || (i > 0 && upper_bounds_[i] <= upper_bounds_[i - 1])) {
      throw std::logic_error("histogram bounds must be finite and strictly increasing");
    }
  }
}

void Histogram::observe(double value) {
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
  bucket_counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::vector<std::uint64_t> counts(upper_bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    running += bucket_counts_[i].load(std::memory_order_relaxed);
    counts[i] = running;
  }
  return counts;
}

std::vector<double> default_latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

struct MetricsRegistry::Family {
  int type = kCounter;
  std::string help;
  std::map<std::string, MetricLabels> labels;  // by label text
  std::map<std::string,
           std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>>>
      series;  // by label text
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, std::string_view help, int type) {
  if (!valid_name(name)) throw std::logic_error("invalid metric name: " + std::string(name));
  auto found = families_.find(name);
  if (found == families_.end()) {
    auto created = std::make_unique<Family>();
    created->type = type;
    created->help = std::string(help);
    found = families_.emplace(std::string(name), std::move(created)).first;
  }
  if (found->second->type != type) {
    throw std::logic_error("metric " + std::string(name) + " is already a " +
                           kTypeNames[found->second->type]);
  }
  return *found->second;
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help, const MetricLabels& labels) {
  const std::lock_guard lock(mutex_);
  Family& family = this->family(name, help, kCounter);
  const std::string key = label_text(labels);
  auto [it, inserted] = family.series.try_emplace(key);
  if (inserted) {
    it->second = std::make_unique<Counter>();
    family.labels.emplace(key, labels);
  }
  return *std::get<std::unique_ptr<Counter>>(it->second);
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, const MetricLabels& labels) {
  const std::lock_guard lock(mutex_);
  Family& family = this->family(name, help, kGauge);
  const std::string key = label_text(labels);
  auto [it, inserted] = family.series.try_emplace(key);
  if (inserted) {
    it->second = std::make_unique<Gauge>();
    family.labels.emplace(key, labels);
  }
  return *std::get<std::unique_ptr<Gauge>>(it->second);
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      const std::vector<double>& upper_bounds, const MetricLabels& labels) {
  const std::lock_guard lock(mutex_);
  Family& family = this->family(name, help, kHistogram);
  const std::string key = label_text(labels);
  auto [it, inserted] = family.series.try_emplace(key);
  if (inserted) {
    it->second = std::make_unique<Histogram>(upper_bounds);
    family.labels.emplace(key, labels);
  }
  return *std::get<std::unique_ptr<Histogram>>(it->second);
}

std::string MetricsRegistry::render_prometheus() const {
  const std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + " " + escape(family->help, false) + "\n";
    out += "# TYPE " + name + " " + kTypeNames[family->type] + "\n";
    for (const auto& [key, series] : family->series) {
      if (const auto* counter = std::get_if<std::unique_ptr<Counter>>(&series)) {
        out += name + key + " " + std::to_string((*counter)->value()) + "\n";
      } else if (const auto* gauge = std::get_if<std::unique_ptr<Gauge>>(&series)) {
        out += name + key + " " + std::to_string((*gauge)->value()) + "\n";
      } else {
        const Histogram& histogram = *std::get<std::unique_ptr<Histogram>>(series);
        const MetricLabels& labels = family->labels.at(key);
        const auto counts = histogram.cumulative_counts();
        const auto& bounds = histogram.upper_bounds();
        for (std::size_t i = 0; i < counts.size(); ++i) {
          const std::string le = i < bounds.size() ? number(bounds[i]) : "+Inf";
          out += name + "_bucket" + label_text(labels, "le=\"" + le + "\"") + " " +
                 std::to_string(counts[i]) + "\n";
        }
        out += name + "_sum" + key + " " + number(histogram.sum()) + "\n";
        out += name + "_count" + key + " " + std::to_string(counts.back()) + "\n";
      }
    }
  }
  return out;
}

}  // namespace casefile::server
