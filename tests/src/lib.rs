//! Test infrastructure: the deterministic network simulator and the netns/veth harness that runs
//! xptp against real linuxptp peers.
