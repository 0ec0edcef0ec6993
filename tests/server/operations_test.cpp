// The pieces of casefiled's operations surface that need no socket: the
// metrics registry's Prometheus text, the JSON log lines, the blocking pool.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <condition_variable>
#include <mutex>

#include "server/blocking_work_pool.hpp"
#include "server/json_logger.hpp"
#include "server/metrics.hpp"
#include "server/operations_routes.hpp"

namespace casefile::server {
namespace {

TEST(MetricsRegistryTest, RendersCountersGaugesAndCumulativeHistogramsInPrometheusText) {
  MetricsRegistry registry;
  registry.counter("casefile_test_total", "Things.", {{"route", "/a"}, {"code", "200"}}).increment(3);
  registry.gauge("casefile_test_open", "Open things.").set(-2);
  auto& histogram = registry.histogram("casefile_test_seconds", "Durations.", {0.1, 1}, {{"route", "/a"}});
  histogram.observe(0.05);
  histogram.observe(0.5);
  histogram.observe(5);
  const std::string text = registry.render_prometheus();
  EXPECT_NE(text.find("# TYPE casefile_test_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("casefile_test_total{route=\"/a\",code=\"200\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("casefile_test_open -2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("casefile_test_seconds_bucket{route=\"/a\",le=\"0.1\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("casefile_test_seconds_bucket{route=\"/a\",le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("casefile_test_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("casefile_test_seconds_count{route=\"/a\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("casefile_test_seconds_sum{route=\"/a\"} 5.55\n"), std::string::npos) << text;
}

TEST(MetricsRegistryTest, SameSeriesIsReturnedAndLabelValuesAreEscaped) {
  MetricsRegistry registry;
  Counter& first = registry.counter("casefile_x_total", "X.", {{"v", "a\"b\\c\nd"}});
  Counter& again = registry.counter("casefile_x_total", "X.", {{"v", "a\"b\\c\nd"}});
  EXPECT_EQ(&first, &again);
  again.increment();
  EXPECT_NE(registry.render_prometheus().find("casefile_x_total{v=\"a\\\"b\\\\c\\nd\"} 1"),
            std::string::npos);
  EXPECT_THROW(registry.gauge("casefile_x_total", "X."), std::logic_error);
  EXPECT_THROW(registry.counter("bad name", "X."), std::logic_error);
}

TEST(JsonLoggerTest, WritesOneJsonObjectPerLineWithTimeLevelEventAndFields) {
  std::vector<std::string> lines;
  JsonLogger logger(LogLevel::info, [&lines](std::string_view line) { lines.emplace_back(line); });
  logger.log(LogLevel::debug, "hidden");
  logger.warning("tls_reload_failed", {{"code", "invalid_certificate"}, {"event", "spoofed"}});
  ASSERT_EQ(lines.size(), 1u);
  ASSERT_EQ(lines[0].back(), '\n');
  EXPECT_EQ(lines[0].find('\n'), lines[0].size() - 1);
  const auto line = boost::json::parse(lines[0]).as_object();
  EXPECT_EQ(line.at("level"), "warning");
  EXPECT_EQ(line.at("event"), "tls_reload_failed");  // a field cannot overwrite the event
  EXPECT_EQ(line.at("code"), "invalid_certificate");
  const std::string time(line.at("time").as_string());
  EXPECT_EQ(time.size(), 24u) << time;  // 2024-05-01T12:00:00.123Z
  EXPECT_EQ(time.back(), 'Z');
}

TEST(BlockingWorkPoolTest, RefusesWorkBeyondItsQueueAndRunsQueuedWorkBeforeStopping) {
  BlockingWorkPool pool(1, 2);
  std::mutex mutex;
  std::condition_variable changed;
  bool release = false;
  bool started = false;
  std::atomic<int> finished{0};
  ASSERT_TRUE(pool.try_submit([&] {
    std::unique_lock lock(mutex);
    started = true;
    changed.notify_all();
    changed.wait(lock, [&] { return release; });
    ++finished;
  }));
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return started; });
  }
  EXPECT_TRUE(pool.try_submit([&] { ++finished; }));
  EXPECT_TRUE(pool.try_submit([&] { ++finished; }));
  EXPECT_FALSE(pool.try_submit([&] { ++finished; }));  // the queue holds two
  {
    const std::lock_guard lock(mutex);
    release = true;
  }
  changed.notify_all();
  pool.stop();
  EXPECT_EQ(finished.load(), 3);
  EXPECT_FALSE(pool.try_submit([] {}));
}

TEST(OperationsRoutesTest, ReadyzReportsTheReadinessCheckAndMetricsIsPrometheusText) {
  Router router;
  MetricsRegistry metrics;
  Status readiness = make_error("not_ready", "store closed");
  ASSERT_TRUE(add_operations_routes(router, metrics, [&readiness] { return readiness; }).ok());
  Request request;
  request.method = "GET";

  request.path = "/healthz";
  EXPECT_EQ(router.dispatch(*router.match("GET", "/healthz"), request).status, 200u);

  request.path = "/readyz";
  Response not_ready = router.dispatch(*router.match("GET", "/readyz"), request);
  EXPECT_EQ(not_ready.status, 503u);
  EXPECT_EQ(boost::json::parse(not_ready.body).at("error"), "not_ready");
  readiness = ok_status();
  EXPECT_EQ(router.dispatch(*router.match("GET", "/readyz"), request).status, 200u);

  metrics.counter("casefile_probe_total", "Probe.").increment();
  request.path = "/metrics";
  Response scrape = router.dispatch(*router.match("GET", "/metrics"), request);
  EXPECT_EQ(scrape.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(scrape.body.find("casefile_probe_total 1"), std::string::npos);
}

}  // namespace
}  // namespace casefile::server
