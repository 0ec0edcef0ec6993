# ThreadSanitizer build for `make tsan` (docs/testing-e2e.md, "ThreadSanitizer").
# Its own tree (build/tsan): TSan cannot be combined with ASan, so it is never
# the tree `make test` builds. -O1 keeps the instrumented tests within minutes;
# -g1 keeps function names, files and lines in TSan's reports. Runs with the
# suppressions in tsan.supp (third-party false positives only, each justified).
option(CASEFILE_TSAN "Build with ThreadSanitizer (make tsan)" OFF)
if(CASEFILE_TSAN)
  if(CASEFILE_SANITIZE)
    message(FATAL_ERROR "CASEFILE_TSAN and CASEFILE_SANITIZE cannot be combined: ThreadSanitizer excludes ASan")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -O1 -g1)
  add_link_options(-fsanitize=thread)
endif()
