// SPDX-License-Identifier: GPL-3.0-or-later
// The table of supported platforms, in the order URLs are matched.
#include <dicomweb/dicomweb_source.hpp>
#include <hinacom/hinacom_source.hpp>
#include <mtywcloud/mtywcloud_source.hpp>
#include <shdc/shdc_source.hpp>
#include <source/source.hpp>
#include <sugh/sugh_source.hpp>
#include <szjudianyun/szjudianyun_source.hpp>
#include <yzhcloud/yzhcloud_source.hpp>
#include <zscloud/zscloud_source.hpp>

namespace source {

const std::vector<Platform>&
platforms()
{
  static const std::vector<Platform> k_platforms = {
      {"hinacom", "https://<sub>.medicalimagecloud.com[:port]/t/<32 hex>  (--password)",
       [](const std::string& url) {
         return hinacom::accepts(hinacom::Door::medicalimagecloud, url);
       },
       [](const Options& o) { return hinacom::make(hinacom::Door::medicalimagecloud, o); }},
      {"cq12320",
       "https://mdmis.cq12320.cn/wcs1/mdmis-app/h5/#/share/detail?share_id=...&content=...",
       [](const std::string& url) { return hinacom::accepts(hinacom::Door::cq12320, url); },
       [](const Options& o) { return hinacom::make(hinacom::Door::cq12320, o); }},
      {"jdyfy", "http://cloudpacs.jdyfy.com:<port>/...?idType=accessionnumber&...",
       [](const std::string& url) { return hinacom::accepts(hinacom::Door::jdyfy, url); },
       [](const Options& o) { return hinacom::make(hinacom::Door::jdyfy, o); }},
      {"shdc",
       "https://ylyyx.shdc.org.cn/#/home?sid=<n>&token=<hex>, or "
       ".../code.html?appid=<a>&share_id=<uuid>&ctype=5",
       [](const std::string& url) { return shdc::accepts(url); },
       [](const Options& o) { return shdc::make(o); }},
      {"zscloud", "https://zscloud.zs-hospital.sh.cn/film/#/shared?code=<code>",
       [](const std::string& url) { return zscloud::accepts(url); },
       [](const Options& o) { return zscloud::make(o); }},
      {"mtywcloud",
       "https://ss.mtywcloud.com/ICCWebClient/Image/"
       "Viewer?AllowQuery=0&DicomDirPath=<url>&OrganizationID=<id>&...",
       [](const std::string& url) { return mtywcloud::accepts(url); },
       [](const Options& o) { return mtywcloud::make(o); }},
      {"szjudianyun", "http://qr.szjudianyun.com/<path>/?a=<hospital_id>&b=<study>&c=<password>",
       [](const std::string& url) { return szjudianyun::accepts(url); },
       [](const Options& o) { return szjudianyun::make(o); }},
      {"yzhcloud", "https://m.yzhcloud.com/w_viewer_2/?study_instance_uid=<uid>&org_id=<id>",
       [](const std::string& url) { return yzhcloud::accepts(url); },
       [](const Options& o) { return yzhcloud::make(o); }},
      {"sugh", "https://work.sugh.net:8002/pc/auth-viewer?clinicalShareToken=<token>",
       [](const std::string& url) { return sugh::accepts(url); },
       [](const Options& o) { return sugh::make(o); }},
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
