//! The PTP wire codec (IEEE 1588-2019 clause 13 messages, clause 14 TLVs, Annex C/D/E/F framings).
