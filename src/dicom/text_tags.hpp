// SPDX-License-Identifier: GPL-3.0-or-later
// Attributes given as text without VRs (a cloud viewer's tag list) made
// into DICOM elements: the VR rules of dicom::reassemble (see there).
#pragma once

#include "reassemble.hpp"

#include <string>
#include <vector>

class DcmDataset;
class DcmMetaInfo;

namespace dicom {

// Put every tag into `ds`, group 0002 into `meta`; what cannot be kept is
// listed in `skipped` as "(gggg,eeee): reason", never fatal.
void put_text_tags(const std::vector<TextTag>& tags, DcmDataset& ds, DcmMetaInfo& meta,
                   std::vector<std::string>& skipped);

} // namespace dicom
