// SPDX-License-Identifier: GPL-3.0-or-later
#define DOCTEST_CONFIG_IMPLEMENT
#include <core/log.hpp>
#include <dicom/codecs.hpp>
#include <dicom/setup.hpp>

#include <doctest/doctest.h>

#include <cstdio>

int
main(int argc, char** argv)
{
  core::log::set_level(core::log::Level::error);
  if (auto r = dicom::setup_dcmtk(core::log::Level::off); !r) {
    std::fprintf(stderr, "%s\n", r.error().message().c_str());
    return 1;
  }
  dicom::register_codecs();
  doctest::Context context(argc, argv);
  return context.run();
}
