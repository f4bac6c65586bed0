// SPDX-License-Identifier: GPL-3.0-or-later
// An IngestSink in front of another that tells a callback about every
// instance stored through it (fetch jobs collect their study UIDs, the
// event stream announces new studies).
#pragma once

#include <store/ingest.hpp>

#include <functional>

namespace web {

class RecordingSink final : public store::IngestSink
{
public:
  using Callback = std::function<void(const store::Ingested&)>;

  RecordingSink(store::IngestSink& inner, Callback on_stored)
      : m_inner(inner), m_on_stored(std::move(on_stored))
  {
  }

  std::filesystem::path spool_path() override { return m_inner.spool_path(); }
  core::Result<store::Ingested> ingest(const std::filesystem::path& file,
                                       const store::Origin& origin,
                                       const store::Claimed& claimed) override
  {
    auto r = m_inner.ingest(file, origin, claimed);
    if (r && m_on_stored) {
      m_on_stored(*r);
    }
    return r;
  }
  bool contains(const std::string& sop) override { return m_inner.contains(sop); }
  std::filesystem::path stored_file(const std::string& sop) override
  {
    return m_inner.stored_file(sop);
  }

private:
  store::IngestSink& m_inner;
  Callback m_on_stored;
};

} // namespace web
