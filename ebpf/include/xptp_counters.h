/* SPDX-License-Identifier: (MIT OR Apache-2.0) */
/*
 * Indices of the per-CPU decision counters of xptp's XDP program (map "xptp_counters", a
 * BPF_MAP_TYPE_PERCPU_ARRAY of __u64). Rust mirrors them in ebpf/src/abi.rs (const assertions
 * there pin every value). Change both together and bump XPTP_CNT_ABI_VERSION.
 *
 * Every frame the program sees increments exactly one decision counter (XPTP_CNT_PASS_* or
 * XPTP_CNT_STEER_*), so their sum is the number of frames seen. The remaining counters are
 * annotations of frames already counted by a decision.
 */
#ifndef XPTP_COUNTERS_H
#define XPTP_COUNTERS_H

#define XPTP_CNT_ABI_VERSION 2

/* decisions: exactly one per frame */
#define XPTP_CNT_PASS_NON_PTP 0     /* not PTP: other Ethertype, protocol or UDP port */
#define XPTP_CNT_PASS_MALFORMED 1   /* truncated Ethernet/VLAN/IP/UDP/PTP header, or bad IHL */
#define XPTP_CNT_PASS_IP_FRAGMENT 2 /* IPv4 fragment, or IPv6 Fragment header: left to the kernel */
#define XPTP_CNT_PASS_IPV6_EXT 3    /* IPv6 with an extension header: not walked, left to the kernel */
#define XPTP_CNT_STEER_L2 4         /* PTP over Ethernet (0x88F7) handed to bpf_redirect_map */
#define XPTP_CNT_STEER_UDP4 5       /* PTP over UDP/IPv4, port 319 or 320 */
#define XPTP_CNT_STEER_UDP6 6       /* PTP over UDP/IPv6, port 319 or 320 */

/* annotations */
#define XPTP_CNT_VLAN 7            /* frame carried one 802.1Q/802.1ad tag (any decision) */
#define XPTP_CNT_META_FAILED 8     /* steered frame got no metadata block: passed (dropped if unrestorable) */
#define XPTP_CNT_NO_SOCKET 9       /* steered frame fell back to the kernel: no socket on its queue */
#define XPTP_CNT_HW_TS_MISSING 10  /* hardware-timestamp build: the kfunc gave no RX timestamp */

#define XPTP_CNT_WIRE_STAMPED 11   /* event frame took its veth wire stamp (XPTP_META_F_WIRE) */
#define XPTP_CNT_WIRE_STALE 12     /* a wire stamp for its key was found but too old or in the future: not used */

#define XPTP_CNT_MAX 13

#endif /* XPTP_COUNTERS_H */
