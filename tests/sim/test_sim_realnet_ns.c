/* test_sim_realnet_ns.c — the namespace back end of `alichain-sim real` (sim/real/realnet_ns.c)
 * driven the way the runner drives it: setup, the real servers started through its wrap
 * words, UDP dup/reorder/delay/loss and partitions through its hooks (each group landed by
 * its commit hook, which returns once every injector acknowledged), counters, teardown.
 * Usage: test_sim_realnet_ns BIN_DIR SAMPLE_DIR. Needs root, ip and nft: exits 3 saying so
 * otherwise (tests/real/test_hosts.py turns that into a failure under CI=true). */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "real/realnet_ns.h"

#define OFFSET 319u
#define READY_MS 10000
#define CLIENT_MS 15000
#define STEP_MS 20
#define CLIENTS 8
#define ROUNDS_MAX 4
#define STALL_MS 300 /* a client's SYN waits this long behind a partition */
#define PATH_BYTES 512
#define OUT_BYTES 8192
#define EXIT_UNAVAILABLE 3

static const char *bin_dir, *sample_dir;
static char run_dir[] = "/tmp/alichain-realnet-ns-XXXXXX";
static realnet_t net;
static pid_t servers[SIM_SERVERS];
static const char *const server_prog[SIM_SERVERS] = {"serverM", "serverA", "serverB", "serverC"};
static const char *const host_env[SIM_SERVERS] = {"ALICHAIN_HOST_M", "ALICHAIN_HOST_A", "ALICHAIN_HOST_B",
                                                  "ALICHAIN_HOST_C"};
static int outputs;

/* The faults handed so far land: the runner calls this after each step's hooks. */
#define COMMIT() CHECK_EQ(net.commit(&net, err, sizeof(err)), REALNET_OK)

static void sleep_ms(int ms) {
    poll(NULL, 0, ms);
}

/* Like the runner's spawn: env for node, the back end's enter hook in the child, its words
 * before the program. */
static pid_t start(int node, const char *prog, const char *arg, char *out_path) {
    char path[PATH_BYTES];
    snprintf(path, sizeof(path), "%s/%s", bin_dir, prog);
    snprintf(out_path, PATH_BYTES, "%s/out.%d", run_dir, outputs++);
    const char *const *wrap;
    int nwrap;
    net.wrap(&net, node, &wrap, &nwrap);
    const char *argv[REALNET_WRAP_ARGS_MAX + 3];
    int na = 0;
    for (int k = 0; k < nwrap; k++) argv[na++] = wrap[k];
    argv[na++] = path;
    if (arg) argv[na++] = arg;
    argv[na] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0) return pid;
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || dup2(out, 1) < 0 || chdir(run_dir) != 0) _exit(127);
    setenv("ALICHAIN_PORT_OFFSET", "319", 1);
    setenv("ALICHAIN_TIMEOUT_MS", "800", 1);
    setenv("ALICHAIN_CLIENT_TIMEOUT_MS", "5000", 1);
    for (int h = 0; h < SIM_SERVERS; h++) setenv(host_env[h], net.host(&net, h), 1);
    if (net.enter != NULL && net.enter(&net, node) != 0) _exit(127);
    execvp(argv[0], (char *const *)argv);
    _exit(127);
}

static void read_file(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = '\0';
    if (f) fclose(f);
}

static int wait_text(const char *path, const char *text, int ms) {
    char buf[OUT_BYTES];
    for (int waited = 0; waited <= ms; waited += STEP_MS) {
        read_file(path, buf, sizeof(buf));
        if (strstr(buf, text)) return 1;
        sleep_ms(STEP_MS);
    }
    return 0;
}

/* Waits for pid (killing it at the deadline); returns its exit code, or -1. */
static int finish(pid_t pid, int ms) {
    int status = 0;
    for (int waited = 0; waitpid(pid, &status, WNOHANG) == 0; waited += STEP_MS) {
        if (waited > ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        sleep_ms(STEP_MS);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* clientA Chinmay: returns its exit code; *right when it printed the sample's balance. */
static int balance(int *right) {
    char out_path[PATH_BYTES], buf[OUT_BYTES];
    int rc = finish(start(SIM_NODE_CLIENTS, "clientA", "Chinmay", out_path), CLIENT_MS);
    read_file(out_path, buf, sizeof(buf));
    *right = strstr(buf, "\"Chinmay\" is : 881 alicoins.") != NULL;
    return rc;
}

static int namespaces_of_this_run(void) {
    char prefix[32];
    int count = 0;
    snprintf(prefix, sizeof(prefix), "alc-%d-", (int)getpid());
    DIR *d = opendir("/run/netns");
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) count += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d) closedir(d);
    return count;
}

static void copy_block(const char *name) {
    char from[PATH_BYTES], to[PATH_BYTES], buf[OUT_BYTES];
    snprintf(from, sizeof(from), "%s/%s", sample_dir, name);
    snprintf(to, sizeof(to), "%s/%s", run_dir, name);
    read_file(from, buf, sizeof(buf));
    FILE *f = fopen(to, "w");
    if (f) {
        fputs(buf, f);
        fclose(f);
    }
}

TEST(servers_and_faults_through_the_back_end) {
    char err[REALNET_ERR_BYTES] = "";
    int right = 0;
    realnet_counters_t c = {0};
    CHECK_EQ(net.setup(&net, OFFSET, err, sizeof(err)), 0);
    if (err[0]) fprintf(stderr, "setup: %s\n", err);
    CHECK_EQ(namespaces_of_this_run(), SIM_NODES + 1); /* the hosts and the bridge */
    CHECK_STR(net.host(&net, SIM_NODE_M), "198.18.0.1");
    CHECK_STR(net.host(&net, SIM_NODE_CLIENTS), "198.18.0.5");
    for (int node = SIM_NODE_A; node <= SIM_NODE_C; node++) {
        char out_path[PATH_BYTES];
        servers[node] = start(node, server_prog[node], NULL, out_path);
        CHECK(wait_text(out_path, "up and running", READY_MS));
    }
    char m_out[PATH_BYTES];
    servers[SIM_NODE_M] = start(SIM_NODE_M, "serverM", NULL, m_out);
    CHECK(wait_text(m_out, "up and running", READY_MS));

    /* calm: through the relays, the right answer */
    CHECK_EQ(balance(&right), 0);
    CHECK(right);

    /* every M<->backend link duplicated, reordered and delayed; concurrent clients */
    sim_udp_t rough = {.delay_min_us = 1000, .delay_max_us = 8000, .dup_ppm = 400000, .reorder_ppm = 300000};
    for (int b = SIM_NODE_A; b <= SIM_NODE_C; b++) {
        CHECK_EQ(net.udp(&net, SIM_NODE_M, b, &rough, err, sizeof(err)), REALNET_OK);
        CHECK_EQ(net.udp(&net, b, SIM_NODE_M, &rough, err, sizeof(err)), REALNET_OK);
    }
    CHECK_EQ(net.udp(&net, SIM_NODE_A, SIM_NODE_B, &rough, err, sizeof(err)), REALNET_UNSUPPORTED);
    COMMIT(); /* returns once every relay acknowledged the settings */
    /* rounds of concurrent clients until both faults were seen (each is a draw) */
    for (int round = 0; round < ROUNDS_MAX && (c[FAULT_DUPLICATED] == 0 || c[FAULT_REORDERED] == 0); round++) {
        pid_t pids[CLIENTS];
        char outs[CLIENTS][PATH_BYTES];
        for (int i = 0; i < CLIENTS; i++) pids[i] = start(SIM_NODE_CLIENTS, "clientA", "Chinmay", outs[i]);
        for (int i = 0; i < CLIENTS; i++) {
            char buf[OUT_BYTES];
            CHECK_EQ(finish(pids[i], CLIENT_MS), 0);
            read_file(outs[i], buf, sizeof(buf));
            CHECK(strstr(buf, "\"Chinmay\" is : 881 alicoins.") != NULL);
        }
        sleep_ms(5 * STEP_MS); /* a relay publishes its counters after each loop turn */
        net.counters(&net, c);
    }
    printf("relay: dgrams %llu duplicated %llu reordered %llu\n", (unsigned long long)c[FAULT_DGRAMS],
           (unsigned long long)c[FAULT_DUPLICATED], (unsigned long long)c[FAULT_REORDERED]);
    CHECK(c[FAULT_DGRAMS] > 0);
    CHECK(c[FAULT_DUPLICATED] > 0);
    CHECK(c[FAULT_REORDERED] > 0);
    sim_udp_t calm = {0};
    for (int b = SIM_NODE_A; b <= SIM_NODE_C; b++) {
        CHECK_EQ(net.udp(&net, SIM_NODE_M, b, &calm, err, sizeof(err)), REALNET_OK);
        CHECK_EQ(net.udp(&net, b, SIM_NODE_M, &calm, err, sizeof(err)), REALNET_OK);
    }
    COMMIT();

    /* all of serverA's answers lost by its relay: unavailable, counted; calm again: fine */
    sim_udp_t lossy = {.loss_ppm = PPM_ONE};
    CHECK_EQ(net.udp(&net, SIM_NODE_A, SIM_NODE_M, &lossy, err, sizeof(err)), REALNET_OK);
    COMMIT();
    CHECK_EQ(balance(&right), 3);
    uint64_t lost_before = c[FAULT_LOST];
    net.counters(&net, c);
    CHECK(c[FAULT_LOST] > lost_before);
    CHECK_EQ(net.udp(&net, SIM_NODE_A, SIM_NODE_M, &calm, err, sizeof(err)), REALNET_OK);
    COMMIT();
    CHECK_EQ(balance(&right), 0);

    /* a partition M<->B, then one way only, then an isolated C; each healed */
    CHECK_EQ(net.partition(&net, SIM_NODE_M, SIM_NODE_B, 0, err, sizeof(err)), REALNET_OK);
    COMMIT();
    CHECK_EQ(balance(&right), 3);
    net.counters(&net, c);
    CHECK(c[FAULT_CUT] > 0);
    CHECK_EQ(net.heal(&net, SIM_NODE_M, SIM_NODE_B, 0, err, sizeof(err)), REALNET_OK);
    COMMIT();
    CHECK_EQ(balance(&right), 0);
    CHECK_EQ(net.partition(&net, SIM_NODE_B, SIM_NODE_M, 1, err, sizeof(err)), REALNET_OK);
    COMMIT();
    CHECK_EQ(balance(&right), 3);
    CHECK_EQ(net.heal(&net, SIM_NODE_B, SIM_NODE_M, 1, err, sizeof(err)), REALNET_OK);
    COMMIT();
    CHECK_EQ(net.partition(&net, SIM_NODE_C, SIM_NODE_ALL, 0, err, sizeof(err)), REALNET_OK);
    COMMIT();
    CHECK_EQ(balance(&right), 3);
    CHECK_EQ(net.heal(&net, SIM_NODE_C, SIM_NODE_ALL, 0, err, sizeof(err)), REALNET_OK);
    COMMIT();
    CHECK_EQ(balance(&right), 0);
    CHECK(right);
    /* the clients cut off while one connects: its handshake is held back (stalled), and
     * after the heal TCP's retransmission carries it through */
    CHECK_EQ(net.partition(&net, SIM_NODE_CLIENTS, SIM_NODE_M, 0, err, sizeof(err)), REALNET_OK);
    COMMIT();
    char late_out[PATH_BYTES], late_buf[OUT_BYTES];
    pid_t late = start(SIM_NODE_CLIENTS, "clientA", "Chinmay", late_out);
    sleep_ms(STALL_MS);
    CHECK_EQ(net.heal(&net, SIM_NODE_ALL, SIM_NODE_ALL, 0, err, sizeof(err)), REALNET_OK);
    COMMIT();
    CHECK_EQ(finish(late, CLIENT_MS), 0);
    read_file(late_out, late_buf, sizeof(late_buf));
    CHECK(strstr(late_buf, "\"Chinmay\" is : 881 alicoins.") != NULL);
    uint64_t stalled_before = c[FAULT_STALLED];
    net.counters(&net, c);
    CHECK(c[FAULT_STALLED] > stalled_before);
    CHECK_EQ(balance(&right), 0);

    /* counters only ever add the delta */
    realnet_counters_t again = {0};
    net.counters(&net, again);
    CHECK(again[FAULT_CUT] < c[FAULT_CUT] + 1000);

    for (int s = 0; s < SIM_SERVERS; s++) {
        kill(servers[s], SIGTERM);
        CHECK_EQ(finish(servers[s], READY_MS), 0);
        servers[s] = 0;
    }
    net.teardown(&net);
    CHECK_EQ(namespaces_of_this_run(), 0);
    net.teardown(&net); /* twice is fine */
}

int main(int argc, char **argv) {
    char err[REALNET_ERR_BYTES];
    if (argc != 3) {
        fprintf(stderr, "usage: test_sim_realnet_ns BIN_DIR SAMPLE_DIR\n");
        return 2;
    }
    bin_dir = argv[1];
    sample_dir = argv[2];
    if (realnet_netns(&net, err, sizeof(err)) < 0) {
        printf("UNAVAILABLE: %s\n", err);
        return EXIT_UNAVAILABLE;
    }
    if (!mkdtemp(run_dir)) return 2;
    copy_block("block1.txt");
    copy_block("block2.txt");
    copy_block("block3.txt");
    RUN(servers_and_faults_through_the_back_end);
    for (int s = 0; s < SIM_SERVERS; s++)
        if (servers[s] > 0) kill(servers[s], SIGKILL);
    net.teardown(&net); /* also after a failed check */
    char cmd[PATH_BYTES];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", run_dir);
    return CHECK_DONE();
}
