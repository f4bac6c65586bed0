# SPDX-License-Identifier: GPL-3.0-or-later
# Read by cpack (CPACK_PROJECT_CONFIG_FILE): a Debian package must install under /usr.
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_PACKAGING_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "cpack -G DEB: configure with -DCMAKE_INSTALL_PREFIX=/usr "
                      "(this build installs under ${CPACK_PACKAGING_INSTALL_PREFIX})")
endif()
