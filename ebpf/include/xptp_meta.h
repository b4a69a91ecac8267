/* SPDX-License-Identifier: (MIT OR Apache-2.0) */
/*
 * The one definition of the metadata xptp's XDP program prepends to every frame it steers into an
 * AF_XDP socket (with bpf_xdp_adjust_head, see xptp_steer). Rust mirrors it in ebpf/src/abi.rs,
 * whose const assertions fail the build if the two drift apart. Change both together and bump
 * the version.
 *
 * Layout: 24 bytes, 8-byte aligned. The socket receives the block as the first 24 bytes of the
 * frame's data, followed by the frame from its first byte (Ethernet destination address).
 */
#ifndef XPTP_META_H
#define XPTP_META_H

#ifdef __BPF__
#include <linux/types.h>
#else
#include <stdint.h>
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
#endif

#define XPTP_META_MAGIC 0x58505450u /* "XPTP" */
#define XPTP_META_VERSION 2 /* 2: in front of the frame (1: in the XDP metadata area) */

/* flags */
#define XPTP_META_F_TAI_VALID (1u << 0) /* xdp_tai_ns holds bpf_ktime_get_tai_ns() at XDP ingress */
#define XPTP_META_F_HW_VALID (1u << 1)  /* hw_rx_ns holds the NIC RX timestamp (kfunc) */
#define XPTP_META_F_VLAN (1u << 2)      /* the frame carries one 802.1Q/802.1ad tag */
#define XPTP_META_F_L2 (1u << 3)        /* PTP over Ethernet (Ethertype 0x88F7) */
#define XPTP_META_F_UDP4 (1u << 4)      /* PTP over UDP/IPv4 */
#define XPTP_META_F_UDP6 (1u << 5)      /* PTP over UDP/IPv6 */
#define XPTP_META_F_EVENT (1u << 6)     /* UDP destination port 319 (event), else 320 (general) */
#define XPTP_META_F_WIRE (1u << 7)      /* xdp_tai_ns is the peer veth's transmit time (wire stamp) */

struct xptp_meta {
	__u32 magic;      /* XPTP_META_MAGIC */
	__u16 version;    /* XPTP_META_VERSION */
	__u16 flags;      /* XPTP_META_F_* */
	__u64 xdp_tai_ns; /* CLOCK_TAI at XDP ingress, or at the peer's veth_xmit (F_WIRE), ns */
	__u64 hw_rx_ns;   /* NIC hardware RX timestamp, ns (bpf_xdp_metadata_rx_timestamp) */
};

#endif /* XPTP_META_H */
