/*
 * gaitsim: hardware-in-the-loop harness for the rig's boards, on libsimavr.
 *
 * Runs a board's firmware (.elf built by firmware/Makefile) on a simulated ATmega328P at 16 MHz and
 * connects it to emulated parts:
 *
 *   UART0 (1,000,000 baud)  <-> a pseudo-terminal (simavr's uart_pty part). The slave's own name is
 *                               printed as "GAITSIM PTY /dev/pts/N" (the /tmp/simavr-uart0 link the
 *                               part also makes is ignored, so several simulations can run at once).
 *   ADC0..ADC7 (A0-A7)       <- FSR divider voltages in millivolts (insole board).
 *   PD2..PD5 (D2-D5)         <- DOUT of four emulated HX711s (bars board), channels 0..3
 *   PB0..PB3 (D8-D11)        -> their PD_SCK inputs
 *   PB4 (D12)                -> their RATE input (high: 80 samples/s, low: 10)
 *
 * The emulated HX711 converts at 80 or 10 Hz of simulated time (--hx711-ppm shifts its oscillator),
 * pulls DOUT low when a conversion is ready, shifts the 24-bit two's complement reading out MSB
 * first on the rising edges of PD_SCK, and counts the pulses after the 24th (25 = channel A, gain
 * 128; 26, 27 = other gains). It checks the datasheet's timing and counts every violation: PD_SCK
 * high or low shorter than 0.2 us, high longer than 50 us, and high for 60 us, which powers the chip
 * down (it resets when PD_SCK falls again). An unplugged HX711 stops driving DOUT: the firmware's
 * pull-up makes it read high ("not ready").
 *
 * Simulated time is throttled to wall time (--speed): the pty has no flow control, so output
 * faster than the reader drains it would be lost silently.
 *
 * Events come from --script FILE, --event LINE and stdin, one per line:
 *     <time> <command> [arguments]          # comment
 * <time> is milliseconds of simulated time since reset, "now", or "+N" (N ms from now).
 *     adc  MV0 [MV1 .. MV7]     analog inputs 0.. in millivolts (0..5000)
 *     adcn CH MV                one analog input
 *     hx   C0 [C1 .. C3]        HX711 readings (signed 24-bit counts) for channels 0..
 *     hxn  CH COUNT             one HX711 reading
 *     unplug CH / plug CH       disconnect / reconnect an HX711
 *     stats                     print a GAITSIM STATS line
 *     stats-reset               restart the sampling-jitter and HX711 statistics
 *     quit                      end the simulation
 *
 * Lines on stdout that start with "GAITSIM " are for programs to parse:
 *     GAITSIM PTY <path>
 *     GAITSIM STATS key=value ...
 *     GAITSIM EXIT reason=<why> wall_s=<s> key=value ...
 * Keys: t_ms (simulated time), uart_bytes (bytes the firmware sent), pty_full (bytes lost because
 * the pty part's queue was full: 0 while someone reads the pty), pty_stalls (times simulated time
 * waited for that queue), lag_slips (times the simulation fell > 10 ms behind the wall clock and
 * gave up catching up, on a busy host). ADC sampling instants are the starts of the conversions of
 * ADC0, in simulated cycles: adc_n, adc_period_us (least-squares slope), adc_jitter_us (largest
 * distance of an instant from that straight line), adc_interval_min_us, adc_interval_max_us.
 * Per HX711 c: hx<c>_connected, _conversions, _reads (25th pulses), _bad_gain (26 or 27 pulses),
 * _short_high / _short_low (PD_SCK under 0.2 us), _long_high (over 50 us), _powerdowns (60 us),
 * _busy_clocks (clocked while not ready), _skipped (conversions never read); hx_rate_hz.
 * GAITSIM_DEBUG=1 in the environment reports each wait for the pty on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "avr_adc.h"
#include "avr_extint.h"
#include "avr_ioport.h"
#include "avr_uart.h"
#include "sim_avr.h"
#include "sim_elf.h"
#include "sim_irq.h"
#include "sim_time.h"
#include "uart_pty.h"

DEFINE_FIFO(uint8_t, uart_pty_fifo);

#define HX_COUNT 4
#define ADC_COUNT 8
#define MAX_SAMPLES 200000

/* ------------------------------------------------------------------------------------------ */
/* Emulated HX711                                                                              */

typedef struct hx711 {
	int ch;
	avr_irq_t *dout;
	avr_irq_t *sck;
	int connected;
	int32_t value;          /* reading the script asks for (signed 24-bit counts) */
	int dout_level;         /* what this chip drives on DOUT (when connected) */
	int data_ready;         /* a finished conversion waits to be read */
	uint32_t shift;         /* the 24-bit word being shifted out */
	int pulses;             /* rising edges since this read began */
	int sck_high;
	int powered_down;
	avr_cycle_count_t sck_rise, sck_fall;
	/* statistics */
	unsigned long conversions, reads, bad_gain, short_high, short_low, long_high, powerdowns,
		busy_clocks, skipped;
} hx711_t;

static avr_t *avr;
static hx711_t hx[HX_COUNT];
static int rate_high;            /* HX711 RATE pin level */
static double hx_ppm;            /* oscillator error of the emulated chips, parts per million */
static int verbose;

static avr_cycle_count_t us_to_cycles(double us) { return (avr_cycle_count_t)(us * avr->frequency / 1e6 + 0.5); }
static double cycles_to_us(double cycles) { return cycles * 1e6 / avr->frequency; }

static avr_cycle_count_t hx_period(void)
{
	double rate = rate_high ? 80.0 : 10.0;
	return (avr_cycle_count_t)(avr->frequency / (rate * (1.0 + hx_ppm * 1e-6)) + 0.5);
}

static void hx_drive(hx711_t *h, int level)
{
	h->dout_level = level;
	if (h->connected)
		avr_raise_irq(h->dout, level);
}

static avr_cycle_count_t hx_convert(avr_t *a, avr_cycle_count_t when, void *param)
{
	(void)a;
	hx711_t *h = param;
	if (h->powered_down)
		return 0;
	if (h->pulses > 0 && h->pulses < 25) {
		/* a read is under way: this conversion is not put into the output register */
		h->skipped++;
		return when + hx_period();
	}
	if (h->pulses > 0) {
		if (h->pulses != 25)
			h->bad_gain++;   /* 26 or 27 pulses: channel B or gain 64 selected */
		h->pulses = 0;
	}
	if (h->data_ready)
		h->skipped++;            /* previous conversion never read */
	h->conversions++;
	h->shift = (uint32_t)h->value & 0xFFFFFFu;
	h->data_ready = 1;
	hx_drive(h, 0);
	return when + hx_period();
}

static avr_cycle_count_t hx_powerdown(avr_t *a, avr_cycle_count_t when, void *param)
{
	(void)a;
	(void)when;
	hx711_t *h = param;
	if (h->sck_high && !h->powered_down) {
		h->powered_down = 1;
		h->powerdowns++;
		h->data_ready = 0;
		h->pulses = 0;
		avr_cycle_timer_cancel(avr, hx_convert, h);
		hx_drive(h, 1);
	}
	return 0;
}

static void hx_sck_hook(struct avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	hx711_t *h = param;
	avr_cycle_count_t now = avr->cycle;
	if (value && !h->sck_high) {
		h->sck_high = 1;
		h->sck_rise = now;
		avr_cycle_timer_register(avr, us_to_cycles(60), hx_powerdown, h);
		if (h->powered_down)
			return;
		if (h->pulses > 0 && cycles_to_us((double)(now - h->sck_fall)) < 0.2)
			h->short_low++;
		if (h->pulses == 0 && !h->data_ready) {
			h->busy_clocks++;   /* clocked while DOUT was high: not allowed */
			return;
		}
		h->pulses++;
		if (h->pulses <= 24) {
			hx_drive(h, (h->shift >> (24 - h->pulses)) & 1);
		} else if (h->pulses == 25) {
			h->reads++;
			h->data_ready = 0;
			hx_drive(h, 1);
		} else if (h->pulses > 27) {
			h->busy_clocks++;
		}
	} else if (!value && h->sck_high) {
		h->sck_high = 0;
		h->sck_fall = now;
		avr_cycle_timer_cancel(avr, hx_powerdown, h);
		avr_cycle_count_t high = now - h->sck_rise;
		if (h->powered_down) {
			/* PD_SCK low again: the chip resets (gain 128) and settles for 4 conversions */
			h->powered_down = 0;
			h->pulses = 0;
			avr_cycle_timer_register(avr, 4 * hx_period(), hx_convert, h);
			return;
		}
		if (cycles_to_us((double)high) < 0.2)
			h->short_high++;
		else if (cycles_to_us((double)high) > 50.0)
			h->long_high++;
	}
}

static void rate_hook(struct avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	(void)param;
	rate_high = value ? 1 : 0;
}

static void hx_plug(hx711_t *h, int connected)
{
	if (connected == h->connected)
		return;
	if (!connected) {
		avr_raise_irq(h->dout, 1);   /* nothing drives DOUT: the pull-up wins */
		h->connected = 0;
	} else {
		h->connected = 1;
		avr_raise_irq(h->dout, h->dout_level);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* ADC inputs and sampling instants                                                            */

static avr_irq_t *adc_irq;
static uint32_t adc_mv[ADC_COUNT];
static avr_cycle_count_t *samples;
static size_t sample_count;

static void adc_set(int ch, long mv)
{
	if (mv < 0)
		mv = 0;
	adc_mv[ch] = (uint32_t)mv;
	avr_raise_irq(adc_irq + ADC_IRQ_ADC0 + ch, adc_mv[ch]);
}

static void adc_trigger_hook(struct avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	(void)param;
	union {
		avr_adc_mux_t mux;
		uint32_t v;
	} e = {.v = value};
	if (e.mux.kind == ADC_MUX_SINGLE && e.mux.src == 0 && sample_count < MAX_SAMPLES)
		samples[sample_count++] = avr->cycle;
}

/* ------------------------------------------------------------------------------------------ */
/* UART bookkeeping                                                                            */

#define STALL_LIMIT_NS 1000000000ull  /* longest wait for the pty reader: 1 s of wall time */

static uart_pty_t pty;
static unsigned long uart_bytes, pty_full, pty_stalls;
static int pty_reader_gone;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Every byte the firmware sends. uart_pty queues it (511 bytes) for its thread, which writes it to
 * the pty; a full queue drops bytes silently. When the queue is nearly full (its thread did not get
 * the CPU, or the reader is slow and the pty's ~20 KB are full), simulated time waits for it, up to
 * 1 s: the firmware cannot tell, and nothing is lost (pty_stalls counts these waits). If it stays
 * full (nobody reads the pty), bytes are dropped and counted in pty_full, and the simulation stops
 * waiting until the queue has drained again.
 */
static void uart_out_hook(struct avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	(void)value;
	(void)param;
	uart_bytes++;
	unsigned room = uart_pty_fifo_get_write_size(&pty.pty.in);
	if (room < 64 && !pty_reader_gone) {
		pty_stalls++;
		uint64_t give_up = mono_ns() + STALL_LIMIT_NS;
		while ((room = uart_pty_fifo_get_write_size(&pty.pty.in)) < 256 && mono_ns() < give_up)
			usleep(100);
		if (room < 64)
			pty_reader_gone = 1;
		if (getenv("GAITSIM_DEBUG"))
			fprintf(stderr, "gaitsim: pty stall at %.3f ms: room %u after %.1f ms\n",
				cycles_to_us((double)avr->cycle) / 1000.0, room,
				(double)(mono_ns() + STALL_LIMIT_NS - give_up) / 1e6);
	} else if (pty_reader_gone && room >= 256) {
		pty_reader_gone = 0;
	}
	if (room == 0)
		pty_full++;
}

/* ------------------------------------------------------------------------------------------ */
/* Statistics                                                                                  */

static unsigned long lag_slips;  /* times the simulation fell behind the wall clock by > 10 ms */

static void print_stats(const char *tag, const char *extra)
{
	double t_ms = cycles_to_us((double)avr->cycle) / 1000.0;
	char adc[256] = "adc_n=0";
	if (sample_count >= 3) {
		/* least-squares line through (k, t_k), then the largest distance from it */
		double n = (double)sample_count, sk = 0, st = 0, skk = 0, skt = 0;
		double t0 = (double)samples[0];
		for (size_t k = 0; k < sample_count; k++) {
			double t = (double)samples[k] - t0;
			sk += k;
			st += t;
			skk += (double)k * k;
			skt += (double)k * t;
		}
		double slope = (n * skt - sk * st) / (n * skk - sk * sk);
		double icpt = (st - slope * sk) / n;
		double worst = 0, imin = 1e300, imax = 0;
		for (size_t k = 0; k < sample_count; k++) {
			double t = (double)samples[k] - t0;
			double d = fabs(t - (icpt + slope * k));
			if (d > worst)
				worst = d;
			if (k) {
				double iv = (double)(samples[k] - samples[k - 1]);
				if (iv < imin)
					imin = iv;
				if (iv > imax)
					imax = iv;
			}
		}
		snprintf(adc, sizeof adc,
			 "adc_n=%zu adc_period_us=%.4f adc_jitter_us=%.3f adc_interval_min_us=%.3f adc_interval_max_us=%.3f",
			 sample_count, cycles_to_us(slope), cycles_to_us(worst), cycles_to_us(imin), cycles_to_us(imax));
	}
	printf("GAITSIM %s%s%s t_ms=%.3f uart_bytes=%lu pty_full=%lu pty_stalls=%lu lag_slips=%lu %s", tag,
	       extra ? " " : "", extra ? extra : "", t_ms, uart_bytes, pty_full, pty_stalls, lag_slips, adc);
	for (int c = 0; c < HX_COUNT; c++) {
		hx711_t *h = &hx[c];
		printf(" hx%d_connected=%d hx%d_conversions=%lu hx%d_reads=%lu hx%d_bad_gain=%lu hx%d_short_high=%lu"
		       " hx%d_short_low=%lu hx%d_long_high=%lu hx%d_powerdowns=%lu hx%d_busy_clocks=%lu hx%d_skipped=%lu",
		       c, h->connected, c, h->conversions, c, h->reads, c, h->bad_gain, c, h->short_high, c,
		       h->short_low, c, h->long_high, c, h->powerdowns, c, h->busy_clocks, c, h->skipped);
	}
	printf(" hx_rate_hz=%d\n", rate_high ? 80 : 10);
	fflush(stdout);
}

static void reset_stats(void)
{
	sample_count = 0;
	for (int c = 0; c < HX_COUNT; c++) {
		hx711_t *h = &hx[c];
		h->conversions = h->reads = h->bad_gain = h->short_high = h->short_low = h->long_high = 0;
		h->powerdowns = h->busy_clocks = h->skipped = 0;
	}
	uart_bytes = pty_full = pty_stalls = lag_slips = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Events                                                                                      */

typedef struct event {
	double t_ms;        /* absolute simulated time */
	char cmd[16];
	int nargs;
	long args[8];
} event_t;

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static event_t *events;
static size_t ev_count, ev_cap;
static volatile sig_atomic_t stop_requested;
static const char *stop_reason = "signal";

static double sim_ms(void) { return cycles_to_us((double)avr->cycle) / 1000.0; }

/* Parses one event line; returns 1 for an event, 0 for a blank line, -1 for an error. */
static int parse_event(const char *line, event_t *ev, double now_ms)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", line);
	char *hash = strchr(buf, '#');
	if (hash)
		*hash = 0;
	char *save = NULL;
	char *tok = strtok_r(buf, " \t\r\n", &save);
	if (!tok)
		return 0;
	memset(ev, 0, sizeof *ev);
	if (!strcmp(tok, "now"))
		ev->t_ms = now_ms;
	else if (tok[0] == '+')
		ev->t_ms = now_ms + atof(tok + 1);
	else {
		char *end;
		ev->t_ms = strtod(tok, &end);
		if (*end)
			return -1;
	}
	tok = strtok_r(NULL, " \t\r\n", &save);
	if (!tok)
		return -1;
	snprintf(ev->cmd, sizeof ev->cmd, "%s", tok);
	while ((tok = strtok_r(NULL, " \t\r\n", &save)) && ev->nargs < 8) {
		char *end;
		ev->args[ev->nargs++] = strtol(tok, &end, 0);
		if (*end)
			return -1;
	}
	static const char *known[] = {"adc", "adcn", "hx", "hxn", "unplug", "plug", "stats", "stats-reset", "quit"};
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (!strcmp(ev->cmd, known[i]))
			return 1;
	return -1;
}

static void add_event(const event_t *ev)
{
	pthread_mutex_lock(&ev_lock);
	if (ev_count == ev_cap) {
		ev_cap = ev_cap ? 2 * ev_cap : 64;
		events = realloc(events, ev_cap * sizeof *events);
		if (!events) {
			perror("gaitsim");
			exit(2);
		}
	}
	/* keep the queue ordered by time (events of the same time in the order they came) */
	size_t i = ev_count;
	while (i > 0 && events[i - 1].t_ms > ev->t_ms)
		i--;
	memmove(events + i + 1, events + i, (ev_count - i) * sizeof *events);
	events[i] = *ev;
	ev_count++;
	pthread_mutex_unlock(&ev_lock);
}

static int load_event_line(const char *line, const char *where)
{
	event_t ev;
	int r = parse_event(line, &ev, sim_ms());
	if (r < 0) {
		fprintf(stderr, "gaitsim: %s: cannot understand \"%s\"\n", where, line);
		return -1;
	}
	if (r > 0)
		add_event(&ev);
	return 0;
}

static void apply(const event_t *ev)
{
	const long *a = ev->args;
	if (!strcmp(ev->cmd, "adc")) {
		for (int i = 0; i < ev->nargs && i < ADC_COUNT; i++)
			adc_set(i, a[i]);
	} else if (!strcmp(ev->cmd, "adcn") && ev->nargs == 2 && a[0] >= 0 && a[0] < ADC_COUNT) {
		adc_set((int)a[0], a[1]);
	} else if (!strcmp(ev->cmd, "hx")) {
		for (int i = 0; i < ev->nargs && i < HX_COUNT; i++)
			hx[i].value = (int32_t)a[i];
	} else if (!strcmp(ev->cmd, "hxn") && ev->nargs == 2 && a[0] >= 0 && a[0] < HX_COUNT) {
		hx[a[0]].value = (int32_t)a[1];
	} else if (!strcmp(ev->cmd, "unplug") && ev->nargs == 1 && a[0] >= 0 && a[0] < HX_COUNT) {
		hx_plug(&hx[a[0]], 0);
	} else if (!strcmp(ev->cmd, "plug") && ev->nargs == 1 && a[0] >= 0 && a[0] < HX_COUNT) {
		hx_plug(&hx[a[0]], 1);
	} else if (!strcmp(ev->cmd, "stats")) {
		print_stats("STATS", NULL);
	} else if (!strcmp(ev->cmd, "stats-reset")) {
		reset_stats();
	} else if (!strcmp(ev->cmd, "quit")) {
		stop_reason = "quit";
		stop_requested = 1;
	} else {
		fprintf(stderr, "gaitsim: bad arguments for %s\n", ev->cmd);
	}
}

/* Every simulated millisecond: apply the events that are due. */
static avr_cycle_count_t event_tick(avr_t *a, avr_cycle_count_t when, void *param)
{
	(void)a;
	(void)param;
	double now = sim_ms();
	for (;;) {
		event_t ev;
		int have = 0;
		pthread_mutex_lock(&ev_lock);
		if (ev_count && events[0].t_ms <= now) {
			ev = events[0];
			memmove(events, events + 1, (ev_count - 1) * sizeof *events);
			ev_count--;
			have = 1;
		}
		pthread_mutex_unlock(&ev_lock);
		if (!have)
			break;
		apply(&ev);
	}
	return when + us_to_cycles(1000);
}

static void *stdin_reader(void *arg)
{
	(void)arg;
	char line[512];
	while (fgets(line, sizeof line, stdin))
		load_event_line(line, "stdin");
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* ------------------------------------------------------------------------------------------ */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: gaitsim [options] FIRMWARE.elf\n"
		"  -m, --mcu NAME          simulated chip (default atmega328p)\n"
		"  -f, --freq HZ           clock frequency (default 16000000)\n"
		"  -s, --script FILE       events to play (see the top of sim/gaitsim.c)\n"
		"  -e, --event LINE        one event, e.g. -e '0 hx 1000 2000 3000 4000'\n"
		"  -u, --unplug CH         start with HX711 channel CH disconnected (repeatable)\n"
		"  -d, --duration S        stop after S seconds of simulated time (default: run until killed)\n"
		"  -x, --speed X           simulated seconds per wall second (default 1; 0 = as fast as possible:\n"
		"                          output is then lost, the pty has no flow control)\n"
		"  -p, --hx711-ppm PPM     oscillator error of the emulated HX711s (default 0)\n"
		"  -S, --stats-every S     print GAITSIM STATS every S seconds of simulated time\n"
		"  -n, --no-stdin          do not read events from stdin\n"
		"  -v, --verbose           simavr warnings on stderr\n");
}

static double stats_every_s;
static avr_cycle_count_t stats_tick(avr_t *a, avr_cycle_count_t when, void *param)
{
	(void)a;
	(void)param;
	print_stats("STATS", NULL);
	return when + us_to_cycles(stats_every_s * 1e6);
}

int main(int argc, char **argv)
{
	const char *mcu = "atmega328p";
	unsigned long freq = 16000000ul;
	double duration_s = 0, speed = 1.0;
	int read_stdin = 1;
	int unplugged[HX_COUNT] = {0};
	const char *scripts[16];
	int nscripts = 0;
	const char *inline_events[64];
	int ninline = 0;

	static const struct option opts[] = {
		{"mcu", required_argument, 0, 'm'},      {"freq", required_argument, 0, 'f'},
		{"script", required_argument, 0, 's'},   {"event", required_argument, 0, 'e'},
		{"unplug", required_argument, 0, 'u'},   {"duration", required_argument, 0, 'd'},
		{"speed", required_argument, 0, 'x'},    {"hx711-ppm", required_argument, 0, 'p'},
		{"stats-every", required_argument, 0, 'S'}, {"no-stdin", no_argument, 0, 'n'},
		{"verbose", no_argument, 0, 'v'},        {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	int opt;
	while ((opt = getopt_long(argc, argv, "m:f:s:e:u:d:x:p:S:nvh", opts, NULL)) != -1) {
		switch (opt) {
		case 'm': mcu = optarg; break;
		case 'f': freq = strtoul(optarg, NULL, 0); break;
		case 's': if (nscripts < 16) scripts[nscripts++] = optarg; break;
		case 'e': if (ninline < 64) inline_events[ninline++] = optarg; break;
		case 'u': {
			int c = atoi(optarg);
			if (c < 0 || c >= HX_COUNT) {
				fprintf(stderr, "gaitsim: --unplug takes 0..3\n");
				return 2;
			}
			unplugged[c] = 1;
			break;
		}
		case 'd': duration_s = atof(optarg); break;
		case 'x': speed = atof(optarg); break;
		case 'p': hx_ppm = atof(optarg); break;
		case 'S': stats_every_s = atof(optarg); break;
		case 'n': read_stdin = 0; break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	const char *elf = argv[optind];

	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);  /* never outlive the test that started us */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	elf_firmware_t fw;
	memset(&fw, 0, sizeof fw);
	if (elf_read_firmware(elf, &fw) != 0) {
		fprintf(stderr, "gaitsim: cannot read %s\n", elf);
		return 1;
	}
	snprintf(fw.mmcu, sizeof fw.mmcu, "%s", mcu);
	fw.frequency = (uint32_t)freq;
	avr = avr_make_mcu_by_name(fw.mmcu);
	if (!avr) {
		fprintf(stderr, "gaitsim: unknown chip %s\n", fw.mmcu);
		return 1;
	}
	avr_init(avr);
	avr_load_firmware(avr, &fw);
	avr->frequency = (uint32_t)freq;
	avr->log = verbose ? LOG_WARNING : LOG_ERROR;
	/* Analog supplies: without them the ADC reads against a 3.3 V default (and warns). */
	avr->vcc = avr->avcc = avr->aref = 5000;
	/* simavr re-triggers level interrupts on every cycle when this is on: 3x slower */
	avr_extint_set_strict_lvl_trig(avr, 0, 0);
	avr_extint_set_strict_lvl_trig(avr, 1, 0);

	/* UART0 <-> pty. */
	uart_pty_init(avr, &pty);
	uart_pty_connect(&pty, '0');
	uint32_t flags = 0;
	avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
	flags &= ~(AVR_UART_FLAG_POLL_SLEEP | AVR_UART_FLAG_STDIO);  /* poll-sleep: 1/4 speed at 1 Mbaud */
	avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
	avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), uart_out_hook, NULL);
	/* The pty's own name: /tmp/simavr-uart0, which uart_pty_connect also makes, is shared by every
	 * simulation on the machine. */
	printf("GAITSIM PTY %s\n", pty.pty.slavename);
	fflush(stdout);

	/* ADC */
	adc_irq = avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, 0);
	avr_irq_register_notify(adc_irq + ADC_IRQ_OUT_TRIGGER, adc_trigger_hook, NULL);
	samples = calloc(MAX_SAMPLES, sizeof *samples);
	for (int i = 0; i < ADC_COUNT; i++)
		adc_set(i, 0);

	/* HX711s */
	avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('B'), 4), rate_hook, NULL);
	for (int c = 0; c < HX_COUNT; c++) {
		hx711_t *h = &hx[c];
		h->ch = c;
		h->dout = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 2 + c);
		h->sck = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('B'), c);
		h->connected = !unplugged[c];
		h->dout_level = 1;
		if (h->connected)
			avr_raise_irq(h->dout, 1);  /* converting: not ready yet */
		avr_irq_register_notify(h->sck, hx_sck_hook, h);
		/* power-up: first conversion after a few ms, each chip at its own phase */
		avr_cycle_timer_register(avr, us_to_cycles(4100 + 2300 * c), hx_convert, h);
	}

	for (int i = 0; i < nscripts; i++) {
		FILE *f = fopen(scripts[i], "r");
		if (!f) {
			fprintf(stderr, "gaitsim: cannot open %s: %s\n", scripts[i], strerror(errno));
			return 1;
		}
		char line[512];
		while (fgets(line, sizeof line, f))
			if (load_event_line(line, scripts[i]) < 0)
				return 2;
		fclose(f);
	}
	for (int i = 0; i < ninline; i++)
		if (load_event_line(inline_events[i], "--event") < 0)
			return 2;
	/* events at time 0 take effect before the firmware runs */
	event_tick(avr, 0, NULL);
	avr_cycle_timer_register(avr, us_to_cycles(1000), event_tick, NULL);
	if (stats_every_s > 0)
		avr_cycle_timer_register(avr, us_to_cycles(stats_every_s * 1e6), stats_tick, NULL);

	if (read_stdin) {
		pthread_t reader;
		pthread_create(&reader, NULL, stdin_reader, NULL);
		pthread_detach(reader);
	}

	const uint64_t start_ns = mono_ns();
	const avr_cycle_count_t end_cycle = duration_s > 0 ? (avr_cycle_count_t)(duration_s * avr->frequency) : 0;
	const char *reason = NULL;
	uint64_t epoch_ns = start_ns;  /* wall time at which simulated time 0 would have been */
	for (unsigned long iter = 1;; iter++) {
		int state = avr_run(avr);
		if (state == cpu_Done || state == cpu_Crashed) {
			reason = state == cpu_Done ? "done" : "crashed";
			break;
		}
		if ((iter & 1023) == 0) {
			if (stop_requested) {
				reason = stop_reason;
				break;
			}
			if (end_cycle && avr->cycle >= end_cycle) {
				reason = "duration";
				break;
			}
			if (speed > 0) {
				uint64_t sim_ns = avr_cycles_to_nsec(avr, avr->cycle);
				uint64_t due_ns = epoch_ns + (uint64_t)(sim_ns / speed);
				uint64_t now_ns = mono_ns();
				if (due_ns > now_ns + 200000) {
					/* more than 0.2 ms ahead of the wall clock: wait for it */
					uint64_t d = due_ns - now_ns;
					struct timespec ts = {(time_t)(d / 1000000000ull), (long)(d % 1000000000ull)};
					nanosleep(&ts, NULL);
				} else if (now_ns > due_ns + 10000000ull) {
					/* more than 10 ms behind (host busy, or waiting for the pty): do not race to
					 * catch up, that would burst output faster than real time */
					epoch_ns += now_ns - due_ns;
					lag_slips++;
				}
			}
		}
	}
	double wall_s = (double)(mono_ns() - start_ns) / 1e9;
	char extra[128];
	snprintf(extra, sizeof extra, "reason=%s wall_s=%.3f", reason, wall_s);
	print_stats("EXIT", extra);
	/* Give the pty thread a moment to hand over what is still queued, then leave. */
	usleep(50000);
	return strcmp(reason, "crashed") == 0 ? 1 : 0;
}
