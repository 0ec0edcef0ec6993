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
  # GCC 12's -Wtsan fires in every file that instantiates Boost.Asio's
  # handlers: asio::detail::std_fenced_block calls std::atomic_thread_fence,
  # which TSan does not model. A warning about third-party headers, made an
  # error by our -Werror, so it is off in this tree (and only here). Asio's
  # queues and strands synchronise with mutexes, which TSan does model; a
  # report that traced back to a fence would be a false positive to justify
  # in tsan.supp.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-tsan)
  endif()
endif()

# GCC 12 at -O1 reports -Warray-bounds and -Wstringop-overflow inside
# libstdc++'s std::string copies in test files (false positives of the GCC bug
# 105329 family, like those CMakeLists.txt already silences). Silenced for the
# test targets of this tree only, so no library is compiled differently.
function(casefile_tsan_relax_test_warnings directory)
  get_property(targets DIRECTORY ${directory} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(type MATCHES "EXECUTABLE|LIBRARY" AND NOT type STREQUAL "INTERFACE_LIBRARY")
      target_compile_options(${target} PRIVATE -Wno-array-bounds -Wno-stringop-overflow)
    endif()
  endforeach()
  get_property(subdirectories DIRECTORY ${directory} PROPERTY SUBDIRECTORIES)
  foreach(subdirectory IN LISTS subdirectories)
    casefile_tsan_relax_test_warnings(${subdirectory})
  endforeach()
endfunction()
