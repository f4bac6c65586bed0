// SPDX-License-Identifier: GPL-3.0-or-later
// (f) C-FIND / C-MOVE identifier -> SQL: the input (after one byte choosing
// the information model, the transfer syntax and the extended negotiation)
// is read as the identifier data set exactly as DIMSE receives it, parsed by
// net::internal::parse_identifier, translated by store/find_sql and run
// against a small SqliteIndex; the response identifiers are built and
// re-encoded as the C-FIND handler does. The translator must never produce
// SQL the database refuses.
#include "fuzz_common.hpp"

#include <net/internal/identifier.hpp>
#include <store/errors.hpp>
#include <store/find.hpp>
#include <store/index.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcistrmb.h>

namespace {

store::Index&
index()
{
  static std::unique_ptr<store::Index> idx = [] {
    const auto root = cf_fuzz::scratch() / "store";
    std::filesystem::create_directories(root);
    auto opened = store::open_sqlite_index(root / "index.sqlite", root);
    if (!opened) {
      std::fprintf(stderr, "open_sqlite_index: %s\n", opened.error().message().c_str());
      std::abort();
    }
    auto idx_ = std::move(*opened);
    const char* names[] = {"Doe^John", "Wang^Xiaodong=王^小东", "O'Brien^Mary", "Smith*^Bob?"};
    for (int p = 0; p < 4; ++p) {
      for (int s = 0; s < 2; ++s) {
        for (int i = 0; i < 2; ++i) {
          dicom::InstanceInfo info;
          info.patient_id = "PID" + std::to_string(p);
          info.patient_name = names[p];
          info.patient_birth_date = "1970010" + std::to_string(p + 1);
          info.patient_sex = p % 2 ? "F" : "M";
          info.study_instance_uid = "1.2.3." + std::to_string(p);
          info.study_date = "2024030" + std::to_string(p + 1);
          info.study_time = "10" + std::to_string(p) + "000";
          info.accession_number = "ACC%_" + std::to_string(p);
          info.study_id = "S" + std::to_string(p);
          info.study_description = "CT Head\\Neck";
          info.series_instance_uid = info.study_instance_uid + "." + std::to_string(s);
          info.modality = s ? "MR" : "CT";
          info.series_number = s + 1;
          info.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
          info.sop_instance_uid = info.series_instance_uid + "." + std::to_string(i);
          info.instance_number = i + 1;
          info.transfer_syntax_uid = "1.2.840.10008.1.2.1";
          store::StoredFile file{"f/" + info.sop_instance_uid, 100};
          if (!idx_->add(info, file, store::Origin{})) {
            std::abort();
          }
        }
      }
    }
    return idx_;
  }();
  return *idx;
}

void
check(const core::Error& e, const char* what)
{
  if (e.code == store::Errc::index_failed) {
    std::fprintf(stderr, "%s: the database refused the translated SQL: %s\n", what,
                 e.message().c_str());
    std::abort();
  }
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  cf_fuzz::init();
  store::Index& idx = index();
  if (size < 1) {
    return 0;
  }
  const std::uint8_t mode = data[0];
  DcmInputBufferStream in;
  in.setBuffer(data + 1, static_cast<offile_off_t>(size - 1));
  in.setEos();
  DcmDataset ds;
  const E_TransferSyntax xfer = (mode & 4) ? EXS_LittleEndianExplicit : EXS_LittleEndianImplicit;
  ds.transferInit();
  const OFCondition cond = ds.read(in, xfer, EGL_withoutGL);
  ds.transferEnd();
  // DIMSE_receiveDataSetInMemory refuses a data set that does not parse to
  // its end ("DIMSE Failed to receive message"), so only complete ones reach
  // parse_identifier; a truncated element would otherwise keep its declared
  // length and make DCMTK reserve gigabytes in getOFStringArray().
  if (cond.bad()) {
    return 0;
  }
  const store::Model model = static_cast<store::Model>(mode % 3);
  auto request = net::internal::parse_identifier(ds, model, "GB18030");
  if (!request) {
    return 0;
  }
  request->combined_datetime = (mode & 8) != 0;
  request->relational = (mode & 32) != 0;
  if (auto found = idx.find(*request); found) {
    for (const auto& match : found->matches) {
      auto response = net::internal::build_response(ds, match, "CLOUDFILM");
      if (response && (mode & 16)) {
        (void)net::internal::encode_response(*response, "GB18030");
      }
    }
  } else {
    check(found.error(), "find");
  }
  if (auto items = idx.retrieve(*request); !items) {
    check(items.error(), "retrieve");
  }
  return 0;
}
