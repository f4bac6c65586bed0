# SPDX-License-Identifier: GPL-3.0-or-later
# cf_settings: flags every target of ours links PRIVATE; cf_warnings: our warning set.
add_library(cf_settings INTERFACE)
target_compile_features(cf_settings INTERFACE cxx_std_17)
target_compile_definitions(cf_settings INTERFACE CF_VERSION="${PROJECT_VERSION}")

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
endif()

add_library(cf_warnings INTERFACE)
target_compile_options(cf_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow=local
                                             -Wnon-virtual-dtor -Wcast-align)
if(CF_WARNINGS_AS_ERRORS)
  target_compile_options(cf_warnings INTERFACE -Werror)
endif()
