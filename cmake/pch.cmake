# Precompiled headers: nlohmann/json.hpp (175 of the ~250 translation units include it) and the
# standard headers nearly all of them pull in, parsed once per target instead of once per file.
# For CI, which builds a fresh clone without ccache: ~16 % of the normal build's CPU time
# (README.md, Tests: CI build cost). berth_common makes the PCH; every other C++ target reuses it
# (same flags: the global options, BERTH_CRASH_POINTS from berth_common); the CLI and the unit
# tests make their own, with CLI11 and GoogleTest added (a target's BERTH_PCH_EXTRA property; a
# source with SKIP_PRECOMPILE_HEADERS keeps out of it).
#
# BERTH_PCH: OFF (the default), ON, or AUTO (on unless the compiler launcher is ccache).
# scripts/test.sh (the trees it configures itself) and scripts/fuzz.sh pass AUTO. Off by default
# because a PCH changes GCC's code generation a little (register allocation and inlining follow
# declaration order; the same code, not the same bytes): the berth that scripts/build.sh,
# quickstart.sh and package.sh make, and the one bench/ measures, stay what they were. AUTO is off
# under ccache because a worktree's ccache shares objects between checkouts, and GCC's PCH files
# (~100 MB) differ byte for byte at each build, so every object that uses one would miss the
# cache once the PCH is rebuilt; ccache beats a PCH there anyway. With ON and ccache, set
# CCACHE_SLOPPINESS=pch_defines,time_macros (/work/ccache-env.sh does), or ccache does not cache.
#
# Targets left out: those with BERTH_NO_SANITIZE (the static console holder, built with
# -fno-exceptions -fno-rtti; the C pause binary; the sanitizer options; the agent's uninstrumented
# copy of the libraries in a sanitizer build): their flags differ from the PCH's.
set(BERTH_PCH OFF CACHE STRING "Precompiled headers: OFF, ON, or AUTO (on unless the compiler launcher is ccache)")
set_property(CACHE BERTH_PCH PROPERTY STRINGS OFF ON AUTO)

set(berth_pch_headers
  <nlohmann/json.hpp>
  <algorithm> <chrono> <cstdint> <cstring> <functional> <map> <memory> <optional> <set>
  <sstream> <string> <string_view> <system_error> <unordered_map> <utility> <variant> <vector>)

# berth_pch_wanted(OUT): whether this tree builds with precompiled headers.
function(berth_pch_wanted out)
  string(TOUPPER "${BERTH_PCH}" mode)
  set(wanted OFF)
  if(mode STREQUAL "ON")
    set(wanted ON)
  elseif(mode STREQUAL "AUTO")
    set(wanted ON)
    foreach(launcher IN ITEMS "${CMAKE_CXX_COMPILER_LAUNCHER}" "$ENV{CMAKE_CXX_COMPILER_LAUNCHER}")
      if(launcher MATCHES "ccache")
        set(wanted OFF)
      endif()
    endforeach()
  endif()
  if(CMAKE_DISABLE_PRECOMPILE_HEADERS)
    set(wanted OFF)
  endif()
  set(${out} ${wanted} PARENT_SCOPE)
endfunction()

# berth_collect_targets(OUT DIR): the targets defined in DIR and its sub-directories.
function(berth_collect_targets out dir)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    berth_collect_targets(sub_targets ${sub})
    list(APPEND targets ${sub_targets})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

# berth_precompiled_headers(): call once, after every target is defined.
function(berth_precompiled_headers)
  berth_pch_wanted(wanted)
  if(NOT wanted)
    message(STATUS "berth: precompiled headers off (BERTH_PCH=${BERTH_PCH})")
    return()
  endif()
  message(STATUS "berth: precompiled headers on (BERTH_PCH=${BERTH_PCH})")
  # GCC before 13 does not keep `#pragma GCC diagnostic` in a PCH (GCC PR 64117): libstdc++'s
  # char_traits.h silences three middle-end warnings about its own inlined memcpy/memmove that
  # way, and those false positives (e.g. on std::string's operator+) would fail -Werror. The
  # builds without PCH (the worktrees' ccache builds, CMAKE_DISABLE_PRECOMPILE_HEADERS=ON) keep
  # them; -Og (the sanitizer build) does not run the analysis that emits them anyway.
  set(pch_warnings "")
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    set(pch_warnings -Wno-array-bounds -Wno-stringop-overflow -Wno-stringop-overread)
  endif()
  berth_collect_targets(targets ${CMAKE_SOURCE_DIR})
  target_precompile_headers(berth_common PRIVATE ${berth_pch_headers})
  target_compile_options(berth_common PRIVATE ${pch_warnings})
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    get_target_property(no_san ${target} BERTH_NO_SANITIZE)
    if(target STREQUAL "berth_common" OR no_san
       OR NOT type MATCHES "^(STATIC_LIBRARY|EXECUTABLE|OBJECT_LIBRARY)$")
      continue()
    endif()
    get_target_property(extra ${target} BERTH_PCH_EXTRA)
    if(extra)
      target_precompile_headers(${target} PRIVATE ${berth_pch_headers} ${extra})
    else()
      target_precompile_headers(${target} REUSE_FROM berth_common)
    endif()
    target_compile_options(${target} PRIVATE ${pch_warnings})
  endforeach()
endfunction()
