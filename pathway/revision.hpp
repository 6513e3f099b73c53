// Revisions of the pathway spec. Every episode records the revision it was
// opened under and keeps it: its log replays under those rules for good, so a
// guideline update never changes what happened to a patient mid-treatment.
// The rows of each revision live in states/ (transition_table_rN.cpp).
#pragma once

namespace zorgpad {

inline constexpr int kFirstRevision = 1;    // 2026-11-01
inline constexpr int kCurrentRevision = 2;  // 2026-12-01: red-flag review, LRS rule, judgement first

}  // namespace zorgpad
