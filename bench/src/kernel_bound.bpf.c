// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * The kernel bound: an XDP program that answers PTP delay requests in place and bounces them
 * back with XDP_TX, so no socket, no copy to user space and no second frame is involved. It is
 * the fastest any responder can be on the interface it runs on, and the yardstick xptp's AF_XDP
 * fast path is measured against. It is a benchmark target only: it keeps no state, follows no
 * BMCA and answers whatever arrives.
 *
 *  - Delay_Req  (IEEE 1588-2019 13.6)  -> Delay_Resp  (13.8): receiveTimestamp = CLOCK_TAI at
 *    XDP ingress, requestingPortIdentity = the request's sourcePortIdentity, correctionField
 *    copied (11.3.2), frame grown to the 54-octet body with bpf_xdp_adjust_tail.
 *  - Pdelay_Req (13.9) -> one-step Pdelay_Resp (13.10, 11.4.2 c): requestReceiptTimestamp 0,
 *    correctionField = the request's + turnaround (t3 - t2) in 2^-16 ns.
 *
 * Framings: Ethernet (0x88F7, untagged) and UDP/IPv4 (event port 319, no IP options). A
 * multicast destination stays (the reply goes to the same group, as ptp4l's does) and a unicast
 * one is swapped with the source; the source becomes the configured own address. The IPv4
 * header checksum is recomputed; the UDP checksum is set to 0 (allowed over IPv4).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_PTP 0x88F7
#define PTP_EVENT_PORT 319
#define PTP_GENERAL_PORT 320
#define PTP_HDR 34
#define RESP_LEN 54

/* Must match `KbConfig` in kernel_bound.rs (24 octets). */
struct kb_config {
	__u8 mac[6];
	__u8 pad0[2];
	__u8 ipv4[4];
	__u8 port_identity[10];
	__u8 pad1[2];
};

enum kb_counter {
	KB_DELAY_RESP = 0,
	KB_PDELAY_RESP = 1,
	KB_PASS = 2,
	KB_RESIZE_FAILED = 3,
	KB_CNT_MAX = 4,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kb_config);
} kb_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KB_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} kb_counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&kb_counters, &idx);
	if (c)
		*c += 1;
}

static __always_inline int pass(void)
{
	count(KB_PASS);
	return XDP_PASS;
}

static __always_inline void put_ts(__u8 *p, __u64 ns)
{
	__u64 sec = ns / 1000000000ULL;
	__u32 frac = (__u32)(ns % 1000000000ULL);
	p[0] = sec >> 40;
	p[1] = sec >> 32;
	p[2] = sec >> 24;
	p[3] = sec >> 16;
	p[4] = sec >> 8;
	p[5] = sec;
	p[6] = frac >> 24;
	p[7] = frac >> 16;
	p[8] = frac >> 8;
	p[9] = frac;
}

static __always_inline __u16 ipv4_csum(struct iphdr *ip)
{
	__u16 *w = (__u16 *)ip;
	__u32 sum = 0;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* Moves the first n octets of the frame d octets towards its start (after the head grew by d).
 * Ascending byte copies are safe because the destination lies below the source. */
#define MOVE_DOWN(p, end, n, d)                                                                \
	({                                                                                     \
		int __r = -1;                                                                  \
		if ((void *)((p) + (n) + (d)) <= (end)) {                                      \
			_Pragma("unroll") for (int __i = 0; __i < (n); __i++)(p)[__i] =        \
				(p)[__i + (d)];                                                \
			__r = 0;                                                               \
		}                                                                              \
		__r;                                                                           \
	})

SEC("xdp")
int kb_respond(struct xdp_md *ctx)
{
	__u64 t2 = bpf_ktime_get_tai_ns();
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 off;
	int udp = 0;

	if ((void *)(eth + 1) > end)
		return pass();
	if (eth->h_proto == bpf_htons(ETH_P_PTP)) {
		off = sizeof(struct ethhdr);
	} else if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		struct udphdr *u = (void *)(ip + 1);
		if ((void *)(u + 1) > end)
			return pass();
		if (ip->ihl != 5 || ip->protocol != IPPROTO_UDP ||
		    (ip->frag_off & bpf_htons(0x3fff)))
			return pass();
		if (u->dest != bpf_htons(PTP_EVENT_PORT))
			return pass();
		off = sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr);
		udp = 1;
	} else {
		return pass();
	}
	__u8 *ptp = data + off;
	if ((void *)(ptp + PTP_HDR) > end)
		return pass();
	__u8 mtype = ptp[0] & 0x0f;
	if ((mtype != 1 && mtype != 2) || (ptp[1] & 0x0f) != 2)
		return pass();
	__u32 key = 0;
	struct kb_config *cfg = bpf_map_lookup_elem(&kb_config, &key);
	if (!cfg)
		return pass();

	/* Resize to exactly headers + 54 (drops Ethernet padding of UDP frames; L2 stays >= 60).
	 * Growing the tail needs tailroom, which veth frames built from small skbs often lack:
	 * then grow the head instead and move headers and message down. */
	__u32 cur = end - data;
	int delta = (int)(off + RESP_LEN) - (int)cur;
	if (delta != 0 && bpf_xdp_adjust_tail(ctx, delta)) {
		int moved = -1;
		if (!udp && cur == 60 && !bpf_xdp_adjust_head(ctx, -8)) {
			__u8 *p = (void *)(long)ctx->data;
			moved = MOVE_DOWN(p, (void *)(long)ctx->data_end, 58, 8);
		} else if (udp && cur == 86 && !bpf_xdp_adjust_head(ctx, -10)) {
			__u8 *p = (void *)(long)ctx->data;
			moved = MOVE_DOWN(p, (void *)(long)ctx->data_end, 86, 10);
		}
		if (moved) {
			count(KB_RESIZE_FAILED);
			return XDP_PASS;
		}
	}
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if (off > 64)
		return XDP_PASS;
	ptp = data + off;
	if ((void *)(ptp + RESP_LEN) > end || (void *)(eth + 1) > end)
		return XDP_PASS;

	/* Ethernet: keep a multicast destination, else answer the sender. */
	if (!(eth->h_dest[0] & 1))
		__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, cfg->mac, ETH_ALEN);

	if (udp) {
		struct iphdr *ip = (void *)(eth + 1);
		struct udphdr *u = (void *)(ip + 1);
		if ((void *)(u + 1) > end)
			return XDP_PASS;
		__u8 first = ((__u8 *)&ip->daddr)[0];
		if (first < 224 || first > 239)
			ip->daddr = ip->saddr;
		__builtin_memcpy(&ip->saddr, cfg->ipv4, 4);
		ip->tot_len = bpf_htons(sizeof(struct iphdr) + sizeof(struct udphdr) + RESP_LEN);
		ip->check = 0;
		ip->check = ipv4_csum(ip);
		__u16 port = mtype == 1 ? PTP_GENERAL_PORT : PTP_EVENT_PORT;
		u->source = bpf_htons(port);
		u->dest = bpf_htons(port);
		u->len = bpf_htons(sizeof(struct udphdr) + RESP_LEN);
		u->check = 0;
	}

	/* PTP header (13.3): type, length, flags, identities, control. */
	ptp[0] = (ptp[0] & 0xf0) | (mtype == 1 ? 9 : 3);
	ptp[2] = 0;
	ptp[3] = RESP_LEN;
	ptp[6] = 0;
	ptp[7] = 0;
	__builtin_memcpy(ptp + 44, ptp + 20, 10);
	__builtin_memcpy(ptp + 20, cfg->port_identity, 10);
	if (mtype == 1) {
		ptp[32] = 3;
		ptp[33] = 0;
		put_ts(ptp + 34, t2);
		count(KB_DELAY_RESP);
	} else {
		ptp[32] = 5;
		ptp[33] = 0x7f;
		__builtin_memset(ptp + 34, 0, 10);
		__u64 corr;
		__builtin_memcpy(&corr, ptp + 8, 8);
		corr = bpf_be64_to_cpu(corr);
		__u64 t3 = bpf_ktime_get_tai_ns();
		corr += (t3 - t2) << 16;
		corr = bpf_cpu_to_be64(corr);
		__builtin_memcpy(ptp + 8, &corr, 8);
		count(KB_PDELAY_RESP);
	}
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
