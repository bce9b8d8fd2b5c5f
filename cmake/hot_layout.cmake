# The hot layout: every function in a section of its own (-ffunction-sections) and berth linked by
# lld with the functions `run` executes (cli/hot_functions.txt, made by scripts/hot-functions.sh)
# first, so the pages `run` touches are few and together. Measured: peak RSS of `run` 5.4 -> 3.2
# MiB (0.9x crun's), CPU -5..10 % (fewer page faults): bench/README.md, "Fourth pass".
#
# BERTH_HOT_LAYOUT: AUTO (the default) is on when the compiler links with lld, off in sanitizer and
# fuzz builds (they keep their flags); ON is on where lld links; OFF is the default link. Without
# lld the build never fails: one warning, then the default link. Sets BERTH_HOT_LAYOUT_ACTIVE.
set(berth_hot_layout_doc
  "Section per function + lld ordered by cli/hot_functions.txt: AUTO (on where lld links, off in sanitizer and fuzz builds), ON or OFF")
# A tree configured when this was a plain option defaulting to OFF holds that OFF as a default,
# not as a choice: it becomes AUTO once (the new help string marks the tree as converted).
get_property(berth_old_doc CACHE BERTH_HOT_LAYOUT PROPERTY HELPSTRING)
if(berth_old_doc STREQUAL "Section per function + lld ordered by cli/hot_functions.txt"
   AND NOT BERTH_HOT_LAYOUT)
  set(BERTH_HOT_LAYOUT AUTO CACHE STRING "${berth_hot_layout_doc}" FORCE)
else()
  set(BERTH_HOT_LAYOUT AUTO CACHE STRING "${berth_hot_layout_doc}")
  set_property(CACHE BERTH_HOT_LAYOUT PROPERTY TYPE STRING)
  set_property(CACHE BERTH_HOT_LAYOUT PROPERTY HELPSTRING "${berth_hot_layout_doc}")
endif()
set_property(CACHE BERTH_HOT_LAYOUT PROPERTY STRINGS AUTO ON OFF)

set(BERTH_HOT_LAYOUT_ACTIVE OFF)
string(TOUPPER "${BERTH_HOT_LAYOUT}" berth_hot_mode)
if(berth_hot_mode STREQUAL "AUTO" AND (BERTH_SANITIZE OR BERTH_FUZZ))
  message(STATUS "berth: hot layout off in a sanitizer or fuzz build (-DBERTH_HOT_LAYOUT=ON forces it)")
elseif(berth_hot_mode STREQUAL "AUTO" OR BERTH_HOT_LAYOUT)
  include(CheckLinkerFlag)
  check_linker_flag(CXX -fuse-ld=lld BERTH_LINKS_WITH_LLD)
  if(BERTH_LINKS_WITH_LLD)
    set(BERTH_HOT_LAYOUT_ACTIVE ON)
    message(STATUS "berth: hot layout on (lld, cli/hot_functions.txt)")
  else()
    unset(BERTH_LINKS_WITH_LLD CACHE)  # checked again at the next configure (lld installed since)
    message(WARNING "berth: no lld linker found (scripts/setup.sh or apt-get install lld): berth "
      "is linked the default way, without the hot layout (peak RSS of `run` ~1.6x, bench/README.md)")
  endif()
endif()
if(BERTH_HOT_LAYOUT_ACTIVE)
  string(APPEND CMAKE_CXX_FLAGS " -ffunction-sections")
endif()
