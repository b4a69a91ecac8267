/* SPDX-License-Identifier: (MIT OR Apache-2.0) */
/*
 * Test-only stand-in for xptp's XDP steering program (the real one lives in ebpf/): PTP over
 * Ethernet (optionally one VLAN tag), UDP/IPv4 and UDP/IPv6 ports 319/320 get the xptp_meta
 * block and are redirected to the AF_XDP socket of their RX queue; everything else passes to
 * the kernel. Used by datapath's netns test and benchmark until the real loader lands.
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

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct vlan_hdr_ {
	__be16 tci;
	__be16 proto;
};

static __always_inline int udp_flags(struct udphdr *u, void *end, __u16 *flags)
{
	if ((void *)(u + 1) > end)
		return -1;
	if (u->dest == bpf_htons(319))
		*flags |= XPTP_META_F_EVENT;
	else if (u->dest != bpf_htons(320))
		return -1;
	return 0;
}

SEC("xdp")
int xptp_test_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u16 flags = XPTP_META_F_TAI_VALID;
	void *l3;
	__be16 proto;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	proto = eth->h_proto;
	l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr_ *v = l3;
		if ((void *)(v + 1) > end)
			return XDP_PASS;
		proto = v->proto;
		l3 = v + 1;
		flags |= XPTP_META_F_VLAN;
	}
	if (proto == bpf_htons(0x88F7)) {
		flags |= XPTP_META_F_L2;
	} else if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
			return XDP_PASS;
		if (udp_flags((void *)(ip + 1), end, &flags))
			return XDP_PASS;
		flags |= XPTP_META_F_UDP4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_UDP)
			return XDP_PASS;
		if (udp_flags((void *)(ip6 + 1), end, &flags))
			return XDP_PASS;
		flags |= XPTP_META_F_UDP6;
	} else {
		return XDP_PASS;
	}

	__u64 now = bpf_ktime_get_tai_ns();
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct xptp_meta)))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	struct xptp_meta *m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > data)
		return XDP_PASS;
	m->magic = XPTP_META_MAGIC;
	m->version = XPTP_META_VERSION;
	m->flags = flags;
	m->xdp_tai_ns = now;
	m->hw_rx_ns = 0;
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
