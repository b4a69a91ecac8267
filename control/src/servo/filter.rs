//! Path-delay filter: defined in the datapath crate, which shares it with the fast path's P2P
//! transparent clock; re-exported here where control's users look for it.

pub use xptp_datapath::delay_filter::*;
