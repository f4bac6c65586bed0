# SPDX-License-Identifier: GPL-3.0-or-later
# dep_* targets absorb how each Debian 12 package exports itself.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

find_package(DCMTK 3.6.7 REQUIRED CONFIG)
add_library(dep_dcmdata INTERFACE)
target_link_libraries(dep_dcmdata INTERFACE DCMTK::dcmdata DCMTK::oflog DCMTK::ofstd)
add_library(dep_dcmnet INTERFACE)
target_link_libraries(dep_dcmnet INTERFACE DCMTK::dcmnet dep_dcmdata Threads::Threads)

# Pixel codecs: DCMTK's JPEG, JPEG-LS (+ dcmimage for colour), and OpenJPEG
# for our own JPEG 2000 decoder (DCMTK 3.6.7 has none).
pkg_check_modules(OPENJP2 REQUIRED IMPORTED_TARGET libopenjp2)
add_library(dep_codecs INTERFACE)
target_link_libraries(dep_codecs INTERFACE DCMTK::dcmjpeg DCMTK::dcmjpls DCMTK::dcmimage
                                           DCMTK::dcmimgle dep_dcmdata PkgConfig::OPENJP2)

find_package(yaml-cpp REQUIRED)
add_library(dep_yaml INTERFACE)
if(TARGET yaml-cpp::yaml-cpp)
  target_link_libraries(dep_yaml INTERFACE yaml-cpp::yaml-cpp)
else()
  target_link_libraries(dep_yaml INTERFACE yaml-cpp)
endif()

find_package(SQLite3 REQUIRED)
add_library(dep_sqlite INTERFACE)
target_link_libraries(dep_sqlite INTERFACE SQLite::SQLite3)

find_package(OpenSSL REQUIRED)
add_library(dep_crypto INTERFACE)
target_link_libraries(dep_crypto INTERFACE OpenSSL::Crypto)

find_package(Boost 1.74 REQUIRED)
add_library(dep_asio INTERFACE)
target_link_libraries(dep_asio INTERFACE Boost::boost Threads::Threads)

pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
add_library(dep_systemd INTERFACE)
target_link_libraries(dep_systemd INTERFACE PkgConfig::SYSTEMD)

find_package(CURL REQUIRED)
add_library(dep_curl INTERFACE)
target_link_libraries(dep_curl INTERFACE CURL::libcurl)

find_package(LibArchive REQUIRED)
add_library(dep_archive INTERFACE)
target_link_libraries(dep_archive INTERFACE LibArchive::LibArchive)

if(CF_BUILD_TESTS)
  find_package(doctest REQUIRED)
endif()

find_package(nlohmann_json REQUIRED)
add_library(dep_json INTERFACE)
target_link_libraries(dep_json INTERFACE nlohmann_json::nlohmann_json)

find_package(CLI11 REQUIRED)
add_library(dep_cli INTERFACE)
target_link_libraries(dep_cli INTERFACE CLI11::CLI11)
