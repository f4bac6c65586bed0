# SPDX-License-Identifier: GPL-3.0-or-later
# cf_settings: flags every target of ours links PRIVATE; cf_warnings: our warning set.
add_library(cf_settings INTERFACE)
target_compile_features(cf_settings INTERFACE cxx_std_17)
target_compile_definitions(cf_settings INTERFACE CF_VERSION="${PROJECT_VERSION}")

# ASan and TSan each own the shadow memory layout; GCC and clang refuse to link both.
if(CF_SANITIZE_THREAD AND CF_SANITIZE_ADDRESS)
  message(FATAL_ERROR "CF_SANITIZE_THREAD and CF_SANITIZE_ADDRESS cannot be combined: "
                      "configure two build folders (scripts/ci-sanitize.sh does)")
endif()

set(_cf_sanitizers "")
if(CF_SANITIZE_ADDRESS)
  list(APPEND _cf_sanitizers address)
endif()
if(CF_SANITIZE_UNDEFINED)
  list(APPEND _cf_sanitizers undefined)
endif()
if(CF_SANITIZE_THREAD)
  list(APPEND _cf_sanitizers thread)
endif()
if(_cf_sanitizers)
  list(JOIN _cf_sanitizers "," _cf_san)
  target_compile_options(cf_settings INTERFACE -fsanitize=${_cf_san} -fno-omit-frame-pointer)
  target_link_options(cf_settings INTERFACE -fsanitize=${_cf_san})
  if(CF_SANITIZE_UNDEFINED)
    # UBSan's checks recover by default: make the first report fatal, so a test fails on it.
    target_compile_options(cf_settings INTERFACE -fno-sanitize-recover=undefined)
  endif()
endif()

add_library(cf_warnings INTERFACE)
target_compile_options(cf_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow=local
                                             -Wnon-virtual-dtor -Wcast-align)
if(CF_WARNINGS_AS_ERRORS)
  target_compile_options(cf_warnings INTERFACE -Werror)
endif()
