/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dpdk.c - fuzz driver (suite 'fuzz', harness/test/fuzz.h) of the DPDK layer's option
 * strings, no DPDK started:
 *   settings  a stack's settings (dpk_cfg_parse, then what lwIP's create asks: ip= and its own
 *             keys): the input is the KEY=VALUE list, split at NUL and 0x1f bytes
 *   impair    impair=SPEC (dpk_impair_parse), for both sides
 * Built with -DHX_LIBFUZZER (clang -fsanitize=fuzzer), LLVMFuzzerTestOneInput drives the
 * target FUZZ_TARGET names (environment) instead of main().
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../dpdk_pvt.h"
#include "fuzz.h"

static char err[1024];

/* ---- settings ---- */

#define SEP "\x1f"

static const char *const settings_seeds[] = {
	"port=memif" SEP "ip=10.0.0.1",
	"port=tap" SEP "ip=192.0.2.2" SEP "tap_addr=192.0.2.1/24" SEP "tap_name=tl0",
	"port=af_packet" SEP "iface=veth0" SEP "ip=10.1.0.2" SEP "netmask=255.255.0.0" SEP
	"gw=10.1.0.1",
	"port=pci" SEP "pci=0000:01:00.0" SEP "ip=10.0.0.1" SEP "huge=yes" SEP "cpu=3",
	"ip=10.0.0.2" SEP "eal=--no-telemetry -l 1" SEP "log=debug" SEP "mbufs=16383" SEP
	"link_timeout_ms=500" SEP "mtu=1500" SEP "checksum=on",
	"ip=10.0.0.2" SEP "impair=tx:loss=1%,delay=5ms~1ms;rx:dup=0.5%;seed=7" SEP
	"pcap=/tmp/x.pcap" SEP "pcap_frames=128",
	"ip=10.0.0.2" SEP "tw_max=16" SEP "idle_yield_us=50",
	"topology=veth",
	"port=memif" SEP "ip=10.0.0.1" SEP "ip=10.0.0.3" SEP "checksum=auto" SEP "huge=no",
	NULL,
};

static const char *const settings_dict[] = {
	SEP, "port=", "memif", "tap", "af_packet", "pci", "ip=", "netmask=", "gw=", "iface=",
	"tap_addr=", "none", "tap_name=", "pci=", "huge=", "auto", "yes", "no", "cpu=", "any",
	"eal=", "log=", "mbufs=", "link_timeout_ms=", "mtu=", "9000", "576", "checksum=",
	"on", "off", "impair=", "pcap=", "pcap_frames=", "tw_max=", "idle_yield_us=",
	"topology=", "10.0.0.1", "255.255.255.255", "/24", "/33", "=", NULL,
};

/* lwIP's own keys, as it hands them to dpk_cfg_parse */
static const struct dpk_opt own[] = {
	{ "tw_max", "TIME_WAIT connections kept" },
	{ "idle_yield_us", "idle spin before yielding" },
};

static const char *fz_settings(const uint8_t *d, size_t len)
{
	static struct dpk_cfg cfg;
	const char *opts[64];
	char *text = malloc(len + 1), *s;
	struct tl_stack_params p = { .role = len % 2 ? TL_ROLE_SERVER : TL_ROLE_CLIENT,
				     .run_id = "fuzz42", .opts = opts, .cpu = -1 };
	unsigned int v;
	size_t i;
	int r;

	if (text == NULL)
		abort();
	memcpy(text, d, len);
	text[len] = '\0';
	/* one option from each NUL- or 0x1f-ended piece */
	for (i = 0, s = text; i <= len && p.n_opts < 64; i++) {
		if (i == len || text[i] == '\0' || text[i] == '\x1f') {
			text[i] = '\0';
			opts[p.n_opts++] = s;
			s = text + i + 1;
		}
	}
	r = dpk_cfg_parse(&cfg, &p, own, sizeof(own) / sizeof(own[0]), err, sizeof(err));
	if (r == 0)
		r = dpk_cfg_need_ip(&cfg, err, sizeof(err));
	if (r == 0)
		r = dpk_opt_uint(&v, &p, "tw_max", 256, 0, 1u << 20, err, sizeof(err));
	free(text);
	return r < 0 ? err : NULL;
}

/* ---- impair ---- */

static const char *const impair_seeds[] = {
	"tx:loss=1%,delay=5ms~1ms;rx:dup=0.5%;seed=7",
	"loss=ge(p=1%,r=25%,k=99%),reorder=5%/3,rate=10mbit,rate=500fps/8",
	"loss=ge(p=5%,r=50%,h=20%,k=99%);seed=11",
	"sut:rx:loss=2%;engine:corrupt=1%",
	"engine:tx:rate=1kbit/2000,delay=1.5us",
	"tx:rate=1000fps/4;sut:loss=1%",
	"delay=10s~1ns;corrupt=100%",
	"loss=1%;;dup=1%",
	"loss=ge(p=1%,r=2%",
	"seed=1;seed=2",
	NULL,
};

static const char *const impair_dict[] = {
	"engine:", "sut:", "tx:", "rx:", "loss=", "dup=", "corrupt=", "reorder=", "delay=",
	"rate=", "seed=", "ge(", "p=", "r=", "h=", "k=", ")", "%", "/", "~", ",", ";", "ns",
	"us", "ms", "s", "bit", "kbit", "mbit", "gbit", "fps", "100", "0.5", "1073741824", NULL,
};

static const char *fz_impair(const uint8_t *d, size_t len)
{
	struct dpk_impair_spec s;
	char *text = malloc(len + 1);
	int r;

	if (text == NULL)
		abort();
	memcpy(text, d, len);
	text[len] = '\0';
	r = dpk_impair_parse(&s, text, TL_ROLE_CLIENT, err, sizeof(err));
	if (r == 0)
		r = dpk_impair_parse(&s, text, TL_ROLE_SERVER, err, sizeof(err));
	free(text);
	return r < 0 ? err : NULL;
}

static const struct fz_target targets[] = {
	{ "settings", fz_settings, settings_seeds, NULL, NULL, settings_dict, 0 },
	{ "impair", fz_impair, impair_seeds, NULL, NULL, impair_dict, 0 },
};

#ifdef HX_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_libfuzzer(targets, sizeof(targets) / sizeof(targets[0]), data, size);
}
#else
int main(int argc, char **argv)
{
	return fz_main(targets, sizeof(targets) / sizeof(targets[0]), argc, argv);
}
#endif
