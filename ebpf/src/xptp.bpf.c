/* SPDX-License-Identifier: (MIT OR Apache-2.0) */
/*
 * xptp's XDP steering program.
 *
 * Owns one decision per received frame: PTP (IEEE 1588-2019 Annex E over Ethernet, Annex C over
 * UDP/IPv4, Annex D over UDP/IPv6) goes to the AF_XDP socket of the frame's RX queue with a
 * struct xptp_meta (ingress CLOCK_TAI, optional NIC RX timestamp, flags) in front of it; all other
 * traffic (ARP, ICMP, ssh, ...) goes to the kernel untouched. It must not modify frames or drop
 * anything; its only state is its counters and the veth wire-stamp table below.
 *
 * veth wire stamps (second program, xptp_veth_wire, loaded only on veth ports): on a veth pair
 * the "wire" is the peer's veth_xmit(), where the sender's software TX timestamp is taken. XDP
 * on the receiving end runs later, in that device's NAPI poll, after a variable softirq delay
 * (measured 0.6-7 us on the project's VMs), whereas the kernel's own software RX stamp is taken
 * at enqueue. A program on the net_dev_start_xmit tracepoint (just before veth_xmit) records CLOCK_TAI for every PTP event message a
 * veth transmits, keyed by (messageType, domain, sourcePortIdentity, sequenceId), the same
 * fields IEEE 1588-2019 uses to match messages (11.3, 11.4); the XDP program looks its frame
 * up, and when found (and not stale) uses that time as the ingress timestamp, with
 * XPTP_META_F_WIRE. This plays the part of a PHY timestamp on a NIC: both ends of a veth
 * residence or path measurement are then taken at the same point, veth_xmit.
 * The loader attaches one stamper per process and loads every port's XDP program with that
 * stamper's table (a second stamper on the same tracepoint would stamp each frame later than
 * the first, by its own run time, and a residence read from two tables would carry it).
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
#include <bpf/bpf_core_read.h>

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
/* A wire stamp older than this at XDP ingress belongs to another frame with the same key. */
#define XPTP_WIRE_MAX_AGE_NS 10000000ull
/* Event messages (IEEE 1588-2019 13.3.2.3 Table 36): Sync, Delay_Req, Pdelay_Req, Pdelay_Resp. */
#define PTP_LAST_EVENT_TYPE 3

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

/* Key of the wire-stamp table: the fields that identify one event message on a link. */
struct wire_key {
	__u8 source_port_identity[10];
	__be16 sequence_id;
	__u8 message_type;
	__u8 domain;
	__u16 pad; /* always 0 */
};

/* One slot of the wire-stamp table. */
struct wire_slot {
	struct wire_key key;
	__u64 tai; /* 0: empty, or being rewritten */
};

/*
 * A direct-mapped table (array indexed by a hash of the key), not a hash map: an insert is a
 * few stores with no allocation or lock, so the stamper adds next to nothing to the transmit
 * path it sits on (an LRU hash update measured several microseconds on a slow VM). Two keys
 * sharing a slot, or a slot read while the other CPU rewrites it, only make the lookup miss
 * (key mismatch) or see a stale time (age check): the frame then keeps its XDP-ingress time.
 */
#define WIRE_SLOTS 4096
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WIRE_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE); /* user space reads its own frames' stamps */
	__type(key, __u32);
	__type(value, struct wire_slot);
} xptp_wire SEC(".maps");

static __always_inline __u32 wire_slot_of(const struct wire_key *k)
{
	__u32 h = ((__u32)k->sequence_id << 8) ^ k->message_type ^ ((__u32)k->domain << 4);
	int i;

	for (i = 0; i < 10; i++)
		h = (h ^ k->source_port_identity[i]) * 0x01000193u; /* FNV-1a step */
	h ^= h >> 15;
	return h & (WIRE_SLOTS - 1);
}

static __always_inline int wire_key_eq(const struct wire_key *a, const struct wire_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1];
}

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
	__u16 ptp_off; /* offset of the PTP common header from the frame's first byte */
};

static __always_inline int is_ipv6_ext(__u8 nh)
{
	return nh == NH_HOPOPTS || nh == NH_ROUTING || nh == NH_ESP || nh == NH_AH ||
	       nh == NH_DSTOPTS || nh == NH_MOBILITY || nh == NH_HIP || nh == NH_SHIM6;
}

/* UDP header at `udp`: steer ports 319/320 when a full PTP header follows. */
static __always_inline void classify_udp(void *data, void *udp, void *data_end,
					 struct verdict *v, __u32 steer_counter, __u16 steer_flag)
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
	v->ptp_off = (void *)(uh + 1) - data;
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
		v->ptp_off = l3 - data;
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
		classify_udp(data, l3 + ihl, data_end, v, XPTP_CNT_STEER_UDP4, XPTP_META_F_UDP4);
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
		classify_udp(data, ip6 + 1, data_end, v, XPTP_CNT_STEER_UDP6, XPTP_META_F_UDP6);
		return;
	}

	v->counter = XPTP_CNT_PASS_NON_PTP;
}

/* Fills `k` from the 34-byte PTP common header at `ptp` (IEEE 1588-2019 13.3.1, Table 35);
 * returns 0 for an event message, -1 otherwise. */
static __always_inline int wire_key_of(const __u8 *ptp, struct wire_key *k)
{
	__u8 type = ptp[0] & 0x0f;

	if (type > PTP_LAST_EVENT_TYPE)
		return -1;
	k->message_type = type;
	k->domain = ptp[4];
	__builtin_memcpy(k->source_port_identity, ptp + 20, 10);
	__builtin_memcpy(&k->sequence_id, ptp + 30, 2);
	k->pad = 0;
	return 0;
}

/* An event message whose veth_xmit was stamped: use that time as its ingress time. */
static __always_inline void wire_lookup(void *data, void *data_end, struct verdict *v, __u64 *tai)
{
	struct wire_key k;
	struct wire_slot *slot;
	__u64 wire;
	__u32 idx;
	__u8 *ptp;

	/* ptp_off <= 14 + 4 + 60 + 8: bound it for the verifier, then re-check the header. */
	ptp = data + (v->ptp_off & 0xff);
	if ((void *)(ptp + PTP_HEADER_LEN) > data_end)
		return;
	if (wire_key_of(ptp, &k))
		return;
	idx = wire_slot_of(&k);
	slot = bpf_map_lookup_elem(&xptp_wire, &idx);
	if (!slot || !wire_key_eq(&slot->key, &k))
		return;
	/* Read-only here: one process's ports share the table, and a sender on the same machine
	 * reads its own frame's slot after this receiver has (see wire.rs); the age check keeps a
	 * slot from serving a later frame with the same key. */
	wire = slot->tai;
	if (!wire)
		return;
	if (wire <= *tai && *tai - wire <= XPTP_WIRE_MAX_AGE_NS) {
		*tai = wire;
		v->flags |= XPTP_META_F_WIRE;
		count(XPTP_CNT_WIRE_STAMPED);
	} else {
		count(XPTP_CNT_WIRE_STALE);
	}
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
	wire_lookup(data, data_end, &v, &tai);
#if XPTP_HW_TS
	if (bpf_xdp_metadata_rx_timestamp(ctx, &hw) == 0 && hw != 0)
		v.flags |= XPTP_META_F_HW_VALID;
	else {
		hw = 0;
		count(XPTP_CNT_HW_TS_MISSING);
	}
#endif

	/*
	 * The metadata goes in front of the frame itself (bpf_xdp_adjust_head into the XDP headroom),
	 * not into the XDP metadata area: kernels may refuse bpf_xdp_adjust_meta to XDP programs
	 * (the project's own 6.18 VMs do: "program of this type cannot use helper
	 * bpf_xdp_adjust_meta"), while adjust_head works in every XDP mode and every AF_XDP mode, and
	 * the socket then receives [struct xptp_meta][frame]. Only a redirected frame keeps the
	 * block: one that falls back to the kernel has it taken off again first.
	 */
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct xptp_meta))) {
		/* No headroom (XDP guarantees 256 bytes, so not expected): the kernel gets the frame. */
		count(XPTP_CNT_META_FAILED);
		return XDP_PASS;
	}
	/* adjust_head invalidates every packet pointer: re-read them. */
	meta = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if ((void *)(meta + 1) > data_end) {
		/* The verifier needs the bound; the frame just grew by the block, so not expected. */
		count(XPTP_CNT_META_FAILED);
		goto unprefix;
	}
	meta->magic = XPTP_META_MAGIC;
	meta->version = XPTP_META_VERSION;
	meta->flags = v.flags;
	meta->xdp_tai_ns = tai;
	meta->hw_rx_ns = hw;

	ret = bpf_redirect_map(&xsks, ctx->rx_queue_index, 0);
	if (ret == XDP_REDIRECT)
		return ret;
	/* A queue without a socket falls back to the kernel (XDP_PASS), never to a drop. */
	count(XPTP_CNT_NO_SOCKET);
unprefix:
	if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct xptp_meta)) == 0)
		return XDP_PASS;
	/* Cannot shrink back (not expected: the frame is the one just grown); never hand the kernel
	 * a frame with the block in front of its Ethernet header. */
	count(XPTP_CNT_META_FAILED);
	return XDP_DROP;
}

/* The two kernel structures the wire stamper reads, resolved against kernel BTF (CO-RE). */
struct sk_buff {
	unsigned int len;
	unsigned int data_len;
	unsigned char *data;
} __attribute__((preserve_access_index));

/* Bytes of a transmitted frame the stamper looks at: Ethernet + one tag + IPv6 + UDP + PTP. */
#define WIRE_PEEK (14 + 4 + 40 + 8 + PTP_HEADER_LEN)

/*
 * The net_dev_start_xmit tracepoint (skb, dev): fires in xmit_one() immediately before the
 * driver's ndo_start_xmit, which for a veth is veth_xmit(), where the frame crosses to the peer
 * and the sender's software TX timestamp is taken (skb_tx_timestamp). A BTF tracepoint rather
 * than fentry on veth_xmit, because fentry needs BPF trampolines that some kernels (the
 * project's own VMs among them) refuse. Records CLOCK_TAI for PTP event messages only;
 * everything else costs two small reads. Never changes the frame. Whether frames sent through
 * dev_direct_xmit (AF_XDP copy-mode TX, AF_PACKET with PACKET_QDISC_BYPASS) pass this hook
 * depends on the kernel (on 6.18 the bench's AF_XDP-sent Syncs looked wire-stamped, not
 * checked directly); a frame that arrives without a wire stamp keeps its XDP-ingress time.
 */
SEC("tp_btf/net_dev_start_xmit")
int xptp_veth_wire(unsigned long long *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	__u8 buf[WIRE_PEEK] = {};
	unsigned char *data;
	unsigned int len, off = 14;
	struct wire_key k;
	struct wire_slot *slot;
	__u32 idx;
	__u16 proto;

	len = BPF_CORE_READ(skb, len) - BPF_CORE_READ(skb, data_len);
	data = BPF_CORE_READ(skb, data);
	if (len < 14 + PTP_HEADER_LEN)
		return 0;
	/* A fixed-size read: bytes past the linear part are never interpreted (checked against
	 * len below), and bpf_probe_read_kernel cannot fault. */
	if (bpf_probe_read_kernel(buf, sizeof(buf), data))
		return 0;
	proto = ((__u16)buf[12] << 8) | buf[13];
	if (proto == ETH_P_8021Q_ || proto == ETH_P_8021AD_) {
		proto = ((__u16)buf[16] << 8) | buf[17];
		off = 18;
	}
	if (proto == ETH_P_IP) {
		__u8 ihl = (buf[off] & 0x0f) * 4;

		if ((buf[off] >> 4) != 4 || ihl != 20 || buf[off + 9] != IPPROTO_UDP)
			return 0; /* options or not UDP: not a frame PTP profiles send */
		off += 20;
		if (((buf[off + 2] << 8) | buf[off + 3]) != PTP_EVENT_PORT)
			return 0;
		off += 8;
	} else if (proto == ETH_P_IPV6) {
		if ((buf[off] >> 4) != 6 || buf[off + 6] != IPPROTO_UDP)
			return 0;
		off += 40;
		if (((buf[off + 2] << 8) | buf[off + 3]) != PTP_EVENT_PORT)
			return 0;
		off += 8;
	} else if (proto != ETH_P_PTP) {
		return 0;
	}
	if (off + PTP_HEADER_LEN > len || off + PTP_HEADER_LEN > WIRE_PEEK)
		return 0;
	if (wire_key_of(buf + off, &k))
		return 0;
	idx = wire_slot_of(&k);
	slot = bpf_map_lookup_elem(&xptp_wire, &idx);
	if (!slot)
		return 0;
	slot->tai = 0; /* a reader that sees the new key before the time finds "empty" */
	__builtin_memcpy(&slot->key, &k, sizeof(k));
	/* Read the clock last, after the parsing, so the stamp is as close as this hook gets to
	 * veth_xmit (where the sender's own software TX timestamp is taken). */
	slot->tai = bpf_ktime_get_tai_ns();
	return 0;
}

/* GPL-compatible so the verifier allows kfunc calls; the source itself is MIT OR Apache-2.0. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
