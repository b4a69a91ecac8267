/* SPDX-License-Identifier: (MIT OR Apache-2.0) */
/*
 * xptp's XDP steering program.
 *
 * Owns one decision per received frame: PTP (IEEE 1588-2019 Annex E over Ethernet, Annex C over
 * UDP/IPv4, Annex D over UDP/IPv6) goes to the AF_XDP socket of the frame's RX queue with a
 * struct xptp_meta (ingress CLOCK_TAI, optional NIC RX timestamp, flags) in front of it; all other
 * traffic (ARP, ICMP, ssh, ...) goes to the kernel untouched. It must not modify frames, drop
 * anything, or keep state beyond its counters.
 *
 * Parsing limits, on purpose:
 *  - at most one VLAN tag (802.1Q 0x8100 or 802.1ad 0x88A8); a second tag is "not PTP";
 *  - IPv4 fragments (MF set or non-zero offset) go to the kernel for reassembly;
 *  - IPv6: only the fixed 40-byte header is read. A UDP datagram behind an extension header
 *    (hop-by-hop, routing, destination options, ...) is not recognised; such frames are passed
 *    and counted (XPTP_CNT_PASS_IPV6_EXT, or XPTP_CNT_PASS_IP_FRAGMENT for a Fragment header),
 *    so a deployment that needs them sees it in the counters. PTP profiles do not use them;
 *  - a frame is steered only if the PTP common header (34 bytes, IEEE 1588-2019 13.3.1) is
 *    complete, so user space never sees a frame it cannot classify.
 *
 * Build switch: -DXPTP_HW_TS=1 adds the bpf_xdp_metadata_rx_timestamp kfunc call. That object
 * must be loaded device-bound (BPF_F_XDP_DEV_BOUND_ONLY, prog_ifindex) and attached in native
 * mode; the default build (XPTP_HW_TS=0) loads anywhere.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xptp_meta.h"
#include "xptp_counters.h"

#ifndef XPTP_HW_TS
#define XPTP_HW_TS 0
#endif

#define ETH_P_PTP 0x88F7
#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8
#define PTP_EVENT_PORT 319
#define PTP_GENERAL_PORT 320
#define PTP_HEADER_LEN 34

/* IPv6 extension headers (RFC 8200 4.1, plus AH/ESP/Mobility/HIP/Shim6 that share the chain). */
#define NH_HOPOPTS 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_ESP 50
#define NH_AH 51
#define NH_DSTOPTS 60
#define NH_MOBILITY 135
#define NH_HIP 139
#define NH_SHIM6 140

#if XPTP_HW_TS
extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp) __ksym;
#endif

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XPTP_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} xptp_counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&xptp_counters, &idx);

	if (c)
		*c += 1; /* per-CPU slot: no other writer */
}

/* What the parser decided; counter index of the decision and the metadata flags it implies. */
struct verdict {
	__u32 counter;
	__u16 flags;
};

static __always_inline int is_ipv6_ext(__u8 nh)
{
	return nh == NH_HOPOPTS || nh == NH_ROUTING || nh == NH_ESP || nh == NH_AH ||
	       nh == NH_DSTOPTS || nh == NH_MOBILITY || nh == NH_HIP || nh == NH_SHIM6;
}

/* UDP header at `udp`: steer ports 319/320 when a full PTP header follows. */
static __always_inline void classify_udp(void *udp, void *data_end, struct verdict *v,
					 __u32 steer_counter, __u16 steer_flag)
{
	struct udphdr *uh = udp;
	__u16 dport;

	if ((void *)(uh + 1) > data_end) {
		v->counter = XPTP_CNT_PASS_MALFORMED;
		return;
	}
	dport = bpf_ntohs(uh->dest);
	if (dport != PTP_EVENT_PORT && dport != PTP_GENERAL_PORT) {
		v->counter = XPTP_CNT_PASS_NON_PTP;
		return;
	}
	if ((void *)(uh + 1) + PTP_HEADER_LEN > data_end) {
		v->counter = XPTP_CNT_PASS_MALFORMED;
		return;
	}
	v->counter = steer_counter;
	v->flags |= steer_flag;
	if (dport == PTP_EVENT_PORT)
		v->flags |= XPTP_META_F_EVENT;
}

static __always_inline void classify(void *data, void *data_end, struct verdict *v)
{
	struct ethhdr *eth = data;
	void *l3;
	__u16 proto;

	v->counter = XPTP_CNT_PASS_MALFORMED;
	if ((void *)(eth + 1) > data_end)
		return;
	proto = bpf_ntohs(eth->h_proto);
	l3 = eth + 1;
	if (proto == ETH_P_8021Q_ || proto == ETH_P_8021AD_) {
		/* 802.1Q tag: TCI (2 bytes) then the encapsulated Ethertype (2 bytes). */
		__be16 *tag = l3;

		if ((void *)(tag + 2) > data_end)
			return;
		v->flags |= XPTP_META_F_VLAN;
		proto = bpf_ntohs(tag[1]);
		l3 = tag + 2;
	}

	if (proto == ETH_P_PTP) {
		if (l3 + PTP_HEADER_LEN > data_end)
			return;
		v->counter = XPTP_CNT_STEER_L2;
		v->flags |= XPTP_META_F_L2;
		return;
	}

	if (proto == ETH_P_IP) {
		struct iphdr *ip = l3;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return;
		if (ip->version != 4 || ip->ihl < 5)
			return; /* malformed */
		if (ip->protocol != IPPROTO_UDP) {
			v->counter = XPTP_CNT_PASS_NON_PTP;
			return;
		}
		/* MF flag or a non-zero fragment offset: let the kernel reassemble. */
		if (ip->frag_off & bpf_htons(0x3FFF)) {
			v->counter = XPTP_CNT_PASS_IP_FRAGMENT;
			return;
		}
		ihl = ip->ihl * 4;
		if (l3 + ihl > data_end)
			return;
		classify_udp(l3 + ihl, data_end, v, XPTP_CNT_STEER_UDP4, XPTP_META_F_UDP4);
		return;
	}

	if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return;
		if (ip6->version != 6)
			return; /* malformed */
		if (ip6->nexthdr == NH_FRAGMENT) {
			v->counter = XPTP_CNT_PASS_IP_FRAGMENT;
			return;
		}
		if (is_ipv6_ext(ip6->nexthdr)) {
			v->counter = XPTP_CNT_PASS_IPV6_EXT;
			return;
		}
		if (ip6->nexthdr != IPPROTO_UDP) {
			v->counter = XPTP_CNT_PASS_NON_PTP;
			return;
		}
		classify_udp(ip6 + 1, data_end, v, XPTP_CNT_STEER_UDP6, XPTP_META_F_UDP6);
		return;
	}

	v->counter = XPTP_CNT_PASS_NON_PTP;
}

SEC("xdp")
int xptp_steer(struct xdp_md *ctx)
{
	/* First thing: the ingress time, before any parsing jitter. */
	__u64 tai = bpf_ktime_get_tai_ns();
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct verdict v = { .counter = XPTP_CNT_PASS_MALFORMED, .flags = 0 };
	struct xptp_meta *meta;
	__u64 hw = 0;
	long ret;

	classify(data, data_end, &v);
	if (v.flags & XPTP_META_F_VLAN)
		count(XPTP_CNT_VLAN);
	if (v.counter != XPTP_CNT_STEER_L2 && v.counter != XPTP_CNT_STEER_UDP4 &&
	    v.counter != XPTP_CNT_STEER_UDP6) {
		count(v.counter);
		return XDP_PASS;
	}
	count(v.counter);

	v.flags |= XPTP_META_F_TAI_VALID;
#if XPTP_HW_TS
	if (bpf_xdp_metadata_rx_timestamp(ctx, &hw) == 0 && hw != 0)
		v.flags |= XPTP_META_F_HW_VALID;
	else {
		hw = 0;
		count(XPTP_CNT_HW_TS_MISSING);
	}
#endif

	/* adjust_meta invalidates every packet pointer: re-read them afterwards. */
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct xptp_meta)) == 0) {
		meta = (void *)(long)ctx->data_meta;
		data = (void *)(long)ctx->data;
		if ((void *)(meta + 1) <= data) {
			meta->magic = XPTP_META_MAGIC;
			meta->version = XPTP_META_VERSION;
			meta->flags = v.flags;
			meta->xdp_tai_ns = tai;
			meta->hw_rx_ns = hw;
		} else {
			count(XPTP_CNT_META_FAILED);
		}
	} else {
		count(XPTP_CNT_META_FAILED);
	}

	/* A queue without a socket falls back to the kernel (XDP_PASS), never to a drop. */
	ret = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
	if (ret != XDP_REDIRECT)
		count(XPTP_CNT_NO_SOCKET);
	return ret;
}

/* GPL-compatible so the verifier allows kfunc calls; the source itself is MIT OR Apache-2.0. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
