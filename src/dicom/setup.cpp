// SPDX-License-Identifier: GPL-3.0-or-later
#include "setup.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcobject.h>
#include <dcmtk/dcmdata/dcvr.h>
#include <dcmtk/oflog/appender.h>
#include <dcmtk/oflog/logger.h>
#include <dcmtk/oflog/oflog.h>
#include <dcmtk/oflog/spi/logevent.h>

#include <system_error>

namespace dicom {

namespace {

// Forwards DCMTK log events to core::log. append() runs under the appender's
// lock and must not log through OFLog itself.
class Bridge : public dcmtk::log4cplus::Appender
{
public:
  ~Bridge() override { destructorImpl(); }
  void close() override {}

protected:
  void append(const dcmtk::log4cplus::spi::InternalLoggingEvent& event) override
  {
    const auto ll = event.getLogLevel();
    core::log::Level level = core::log::Level::trace;
    if (ll >= dcmtk::log4cplus::ERROR_LOG_LEVEL) {
      level = core::log::Level::error;
    } else if (ll >= dcmtk::log4cplus::WARN_LOG_LEVEL) {
      level = core::log::Level::warn;
    } else if (ll >= dcmtk::log4cplus::INFO_LOG_LEVEL) {
      level = core::log::Level::info;
    } else if (ll >= dcmtk::log4cplus::DEBUG_LOG_LEVEL) {
      level = core::log::Level::debug;
    }
    const auto& name = event.getLoggerName();
    const auto& msg = event.getMessage();
    core::log::write(level, std::string_view(name.c_str(), name.size()),
                     std::string_view(msg.c_str(), msg.size()));
  }
};

OFLogger::LogLevel
to_oflog(core::log::Level level)
{
  switch (level) {
  case core::log::Level::trace:
    return OFLogger::TRACE_LOG_LEVEL;
  case core::log::Level::debug:
    return OFLogger::DEBUG_LOG_LEVEL;
  case core::log::Level::info:
    return OFLogger::INFO_LOG_LEVEL;
  case core::log::Level::warn:
    return OFLogger::WARN_LOG_LEVEL;
  case core::log::Level::error:
    return OFLogger::ERROR_LOG_LEVEL;
  case core::log::Level::off:
    break;
  }
  return OFLogger::OFF_LOG_LEVEL;
}

} // namespace

core::Result<void>
setup_dcmtk(core::log::Level dcmtk_level)
{
  OFLog::configure(to_oflog(dcmtk_level));
  auto root = dcmtk::log4cplus::Logger::getRoot();
  root.removeAllAppenders();
  root.addAppender(dcmtk::log4cplus::SharedAppenderPtr(new Bridge));

  // An archive keeps what it received; DCMTK would otherwise "fix" odd lengths.
  dcmEnableAutomaticInputDataCorrection.set(OFFalse);
  // A standard attribute written with VR UN in an explicit syntax (PS3.5
  // 6.2.2: a node that did not know it) is read in its dictionary VR, so
  // that its value is text again, not hex-escaped bytes in the index.
  dcmEnableUnknownVRConversion.set(OFTrue);

  if (!dcmDataDict.isDictionaryLoaded()) {
    return core::make_error(
        std::make_error_code(std::errc::no_such_file_or_directory),
        "DICOM data dictionary not loaded (install libdcmtk17 or set DCMDICTPATH)");
  }
  return {};
}

} // namespace dicom
