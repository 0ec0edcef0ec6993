# libFuzzer targets for `make fuzz` (docs/fuzzing.md). Clang only: libFuzzer is
# clang's (Debian's libclang-rt-14-dev). Every library is instrumented for
# coverage with -fsanitize=fuzzer-no-link plus ASan and UBSan; each target in
# fuzz/ links -fsanitize=fuzzer, which brings libFuzzer's main(). The tree is
# build/fuzz, never the one `make test` builds. -O1: libFuzzer's usual level.
option(CASEFILE_FUZZ "Build the libFuzzer targets in fuzz/ (clang only)" OFF)
if(CASEFILE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CASEFILE_FUZZ needs clang: cmake -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang")
  endif()
  if(CASEFILE_SANITIZE)
    message(FATAL_ERROR "CASEFILE_FUZZ brings its own sanitizers; leave CASEFILE_SANITIZE off")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -O1 -g1)
  add_link_options(-fsanitize=address,undefined)
endif()
