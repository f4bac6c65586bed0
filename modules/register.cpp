// SPDX-License-Identifier: GPL-3.0-or-later
// The table of supported platforms, in the order URLs are matched.
#include <dicomweb/dicomweb_source.hpp>
#include <hinacom/hinacom_source.hpp>

#include <source/source.hpp>

namespace source {

const std::vector<Platform>&
platforms()
{
  static const std::vector<Platform> k_platforms = {
    {"hinacom", "https://<sub>.medicalimagecloud.com[:port]/t/<32 hex>  (--password)",
     [](const std::string& url) { return hinacom::accepts(hinacom::Door::medicalimagecloud, url); },
     [](const Options& o) { return hinacom::make(hinacom::Door::medicalimagecloud, o); }},
    {"cq12320", "https://mdmis.cq12320.cn/wcs1/mdmis-app/h5/#/share/detail?share_id=...&content=...",
     [](const std::string& url) { return hinacom::accepts(hinacom::Door::cq12320, url); },
     [](const Options& o) { return hinacom::make(hinacom::Door::cq12320, o); }},
    {"jdyfy", "http://cloudpacs.jdyfy.com:<port>/...?idType=accessionnumber&...",
     [](const std::string& url) { return hinacom::accepts(hinacom::Door::jdyfy, url); },
     [](const Options& o) { return hinacom::make(hinacom::Door::jdyfy, o); }},
    {"dicomweb", "dicomweb+http(s)://host/path --study UID, or ...path?PatientID=... (QIDO-RS)",
     [](const std::string& url) { return dicomweb::accepts(url); },
     [](const Options& o) { return dicomweb::make(o); }},
  };
  return k_platforms;
}

const Platform*
find_platform(const std::string& url)
{
  for (const auto& p : platforms()) {
    if (p.accepts(url)) {
      return &p;
    }
  }
  return nullptr;
}

} // namespace source
