// SPDX-License-Identifier: GPL-3.0-or-later
// (e) Engine.IO v3 / socket.io 2.x framing of szjudianyun (framing.hpp): the
// input is used as a polling answer, a text frame, a binary attachment and
// a share URL.
#include "fuzz_common.hpp"

#include <http/content.hpp>
#include <szjudianyun/framing.hpp>

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  cf_fuzz::init();
  const std::string input(reinterpret_cast<const char*>(data), size);
  (void)szjudianyun::parse_handshake(input);
  (void)szjudianyun::classify(input);
  (void)szjudianyun::event_payload(input);
  if (auto info = szjudianyun::parse_study_info(input); info) {
    for (const auto& s : info->series) {
      (void)szjudianyun::fetch_request(*info, s.id, 1);
    }
  }
  (void)http::is_part10(szjudianyun::strip_binary_marker(input));
  if (auto share = szjudianyun::parse_share_url(input); share) {
    (void)szjudianyun::save_request(*share);
  }
  return 0;
}
