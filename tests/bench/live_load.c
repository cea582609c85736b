/* mm-live-load: the live lobby's load tool (scripts/bench/live.sh). Holds N Server-Sent
 * Events subscriptions to one product's lobby_events at once, then makes K changes, one
 * every interval, each naming a game of its own, alternately:
 *   - a join_game request through the pool (into a pre-seeded game), which publishes;
 *   - with --publisher, a message POSTed straight to nginx's publisher (as the pool's
 *     publish, without the pool).
 * For every (subscriber, change) it records when the message arrived, and reports messages
 * lost and out of order, and latencies: of the direct publishes, from the end of the
 * publishing request (its answer read) to each subscriber; of the joins, from the start of
 * the player's request (the pool publishes before it answers, so the end of a join is no
 * reference). One clock serves both ends.
 *
 * One thread, one epoll set: the subscriptions are plain non-blocking sockets (the tool's
 * CPU per delivery is part of what it measures: libcurl's per-socket handling cost about
 * 15 us a delivery against 2-3 us for a read and a scan), and the change requests go
 * through libcurl's multi-socket interface on the same set.
 *
 *   mm-live-load --url URL --product P --subscribers N --join-base URL --join-tag TAG
 *                --changes K --token "Bearer JWT" [--publisher SOCKET] [--interval-ms MS]
 *                [--rss-pids "PID ..."] [--grace-ms MS]
 *
 * Game ids are "%08d%024d" of (TAG, i), i in [0, K): scripts/bench/seed.lua's. Prints one
 * line "MMLIVE key=value ..." at the end; exits 1 when not every subscriber connected. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define EVENT_MAX 4096     /* one SSE event of this tool's messages fits */
#define CONNECT_BATCH 250  /* subscriptions started at once */
#define IN_FLIGHT_MAX 1000 /* started and not yet answered */

#define CURL_FD_TAG (UINT64_C(1) << 63) /* epoll data of a libcurl socket: tag | fd */

typedef struct {
    int fd;
    int index;
    bool sent;      /* the request went out */
    bool connected; /* nginx's ": hi" came */
    bool ended;
    int last_change; /* the change of the last message, -1 before any */
    size_t len;
    char buf[EVENT_MAX];
} subscriber;

typedef struct {
    CURL *easy;
    bool direct; /* a POST to the publisher, not a join through the pool */
    char *body;
    int64_t start_us, end_us;
    long status;
} change;

static struct {
    CURLM *multi;
    int epfd;
    long timeout_ms;
    subscriber *subs;
    int nsubs, connected, ended, in_flight;
    change *changes;
    int nchanges;
    int tag;
    int64_t *arrived; /* [sub * nchanges + change]: microseconds, 0 = not yet */
    uint64_t out_of_order, pings, unknown, overflow;
    struct curl_slist *join_headers, *publish_headers;
    struct sockaddr_storage addr; /* where the subscriptions connect */
    socklen_t addr_len;
    char request[512]; /* a subscription's GET */
    size_t request_len;
} L;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the event loop ------------------------------------------------------------------ */

static int on_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp)
{
    struct epoll_event ev = {.data.u64 = CURL_FD_TAG | (uint64_t)fd};
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(L.epfd, EPOLL_CTL_DEL, fd, NULL);
        curl_multi_assign(L.multi, fd, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (sockp == NULL) {
        epoll_ctl(L.epfd, EPOLL_CTL_ADD, fd, &ev);
        curl_multi_assign(L.multi, fd, &L); /* any non-NULL: "registered" */
    } else {
        epoll_ctl(L.epfd, EPOLL_CTL_MOD, fd, &ev);
    }
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *ud)
{
    L.timeout_ms = timeout_ms;
    return 0;
}

/* The change a message names: the number i of its game id "%08d%024d" (tag, i). */
static int change_of(const char *event, size_t len)
{
    static const char key[] = "\"game_id\": \"";
    const char *p = NULL;
    for (size_t i = 0; i + sizeof(key) - 1 <= len; i++)
        if (memcmp(event + i, key, sizeof(key) - 1) == 0) {
            p = event + i + sizeof(key) - 1;
            break;
        }
    if (p == NULL || (size_t)(p - event) + 32 > len)
        return -1;
    int tag = 0;
    long long i = 0;
    for (int k = 0; k < 8; k++)
        tag = tag * 10 + (p[k] - '0');
    for (int k = 8; k < 32; k++)
        i = i * 10 + (p[k] - '0');
    return tag == L.tag && i >= 0 && i < L.nchanges ? (int)i : -1;
}

static void on_event(subscriber *s, const char *event, size_t len, int64_t t)
{
    if (len >= 4 && memcmp(event, ": hi", 4) == 0) {
        if (!s->connected) {
            s->connected = true;
            L.connected++;
            L.in_flight--;
        }
        return;
    }
    if (len < 1 || event[0] == ':')
        return; /* comments */
    static const char ping[] = "event: ping";
    if (len >= sizeof(ping) - 1 && memcmp(event, ping, sizeof(ping) - 1) == 0) {
        L.pings++; /* nchan's keep-alive (nchan_eventsource_ping_interval) */
        return;
    }
    int c = change_of(event, len);
    if (c < 0) {
        L.unknown++;
        return;
    }
    int64_t *slot = &L.arrived[(size_t)s->index * (size_t)L.nchanges + (size_t)c];
    if (*slot == 0)
        *slot = t;
    if (c <= s->last_change)
        L.out_of_order++;
    s->last_change = c;
}

/* Events (ended by a blank line) out of what a subscription received. The answer's head
 * comes first: skipped up to its blank line ("\r\n\r\n" ends in "\n\r\n", never "\n\n"). */
static void on_bytes(subscriber *s, const char *p, size_t n, int64_t t)
{
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t take = nl ? (size_t)(nl - (p + i)) + 1 : n - i;
        if (s->len + take > EVENT_MAX) {
            L.overflow++;
            s->len = 0;
            i += take;
            continue;
        }
        memcpy(s->buf + s->len, p + i, take);
        s->len += take;
        i += take;
        if (nl == NULL)
            break;
        if (s->len == 2 && s->buf[0] == '\r') { /* the head's end */
            s->len = 0;
            continue;
        }
        if (s->len >= 2 && s->buf[s->len - 2] == '\n') {
            on_event(s, s->buf, s->len - 2, t);
            s->len = 0;
        } else if (s->len == 1 || s->buf[s->len - 2] == '\r') {
            s->len = 0; /* a line of the head, or a stray newline */
        }
        /* else a line of an event: kept, the event goes on */
    }
}

static void sub_ended(subscriber *s)
{
    if (s->fd >= 0) {
        epoll_ctl(L.epfd, EPOLL_CTL_DEL, s->fd, NULL);
        close(s->fd);
    }
    s->fd = -1;
    if (!s->ended) {
        s->ended = true;
        L.ended++;
        if (!s->connected)
            L.in_flight--;
    }
}

static void on_sub_event(subscriber *s, uint32_t events)
{
    if (!s->sent) {
        int err = 0;
        socklen_t len = sizeof(err);
        if ((events & (EPOLLERR | EPOLLHUP)) ||
            getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0 ||
            send(s->fd, L.request, L.request_len, MSG_NOSIGNAL) != (ssize_t)L.request_len) {
            sub_ended(s);
            return;
        }
        s->sent = true;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)s->index};
        epoll_ctl(L.epfd, EPOLL_CTL_MOD, s->fd, &ev);
        return;
    }
    char buf[16384];
    for (;;) {
        ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            on_bytes(s, buf, (size_t)n, now_us());
            if ((size_t)n < sizeof(buf))
                return;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            sub_ended(s);
            return;
        }
    }
}

/* The subscriptions' address and request, from --url (and --unix-socket). */
static int subscription_target(const char *url, const char *sock)
{
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    const char *host = url + 7, *path = strchr(host, '/');
    const char *colon = memchr(host, ':', path ? (size_t)(path - host) : strlen(host));
    if (path == NULL)
        return -1;
    int n = snprintf(L.request, sizeof(L.request),
                     "GET %s HTTP/1.1\r\nHost: %.*s\r\nAccept: text/event-stream\r\n\r\n", path,
                     (int)(path - host), host);
    if (n <= 0 || (size_t)n >= sizeof(L.request))
        return -1;
    L.request_len = (size_t)n;
    if (sock != NULL) {
        struct sockaddr_un *un = (struct sockaddr_un *)&L.addr;
        un->sun_family = AF_UNIX;
        snprintf(un->sun_path, sizeof(un->sun_path), "%s", sock);
        L.addr_len = sizeof(*un);
        return 0;
    }
    char ip[64];
    if (colon == NULL || (size_t)(colon - host) >= sizeof(ip))
        return -1;
    memcpy(ip, host, (size_t)(colon - host));
    ip[colon - host] = '\0';
    struct sockaddr_in *in = (struct sockaddr_in *)&L.addr;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)strtol(colon + 1, NULL, 10));
    if (inet_pton(AF_INET, ip, &in->sin_addr) != 1)
        return -1;
    L.addr_len = sizeof(*in);
    return 0;
}

static void sub_start(subscriber *s)
{
    s->fd = socket(L.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    L.in_flight++;
    if (s->fd < 0 || (connect(s->fd, (struct sockaddr *)&L.addr, L.addr_len) != 0 &&
                      errno != EINPROGRESS && errno != EAGAIN)) {
        sub_ended(s);
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint64_t)s->index};
    epoll_ctl(L.epfd, EPOLL_CTL_ADD, s->fd, &ev);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    return size * n;
}

static void finished(void)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(L.multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        change *c = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        c->end_us = now_us();
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
        curl_multi_remove_handle(L.multi, m->easy_handle);
    }
}

/* Runs the loop until deadline (microseconds). */
static void run_until(int64_t deadline)
{
    struct epoll_event evs[512];
    for (;;) {
        int64_t left_ms = (deadline - now_us()) / 1000;
        if (left_ms <= 0)
            return;
        long wait = L.timeout_ms >= 0 && L.timeout_ms < left_ms ? L.timeout_ms : (long)left_ms;
        int n = epoll_wait(L.epfd, evs, 512, (int)wait);
        int running;
        if (n <= 0) {
            curl_multi_socket_action(L.multi, CURL_SOCKET_TIMEOUT, 0, &running);
        } else {
            for (int i = 0; i < n; i++) {
                uint64_t tag = evs[i].data.u64;
                if (!(tag & CURL_FD_TAG)) {
                    on_sub_event(&L.subs[tag], evs[i].events);
                    continue;
                }
                int mask = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                           (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                           (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
                curl_multi_socket_action(L.multi, (curl_socket_t)(tag & ~CURL_FD_TAG), mask,
                                         &running);
            }
        }
        finished();
    }
}

/* ---- the measurement ----------------------------------------------------------------- */

/* The resident memory of the processes listed in pids ("PID PID ..."), KiB. */
static long rss_kib(const char *pids)
{
    long total = 0;
    for (const char *p = pids; p != NULL && *p != '\0';) {
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        p = end;
        char path[64], line[256];
        snprintf(path, sizeof(path), "/proc/%ld/status", pid);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        while (fgets(line, sizeof(line), f) != NULL)
            if (strncmp(line, "VmRSS:", 6) == 0)
                total += strtol(line + 6, NULL, 10);
        fclose(f);
    }
    return total;
}

/* CPU time this process has used, microseconds. */
static int64_t cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void usage(void)
{
    fprintf(stderr, "usage: mm-live-load --url URL [--unix-socket PATH] --product P "
                    "--subscribers N --join-base URL --join-tag TAG --changes K --token T "
                    "[--publisher SOCKET] [--interval-ms MS] [--rss-pids \"PID ...\"] "
                    "[--grace-ms MS]\n");
}

int main(int argc, char **argv)
{
    const char *url = NULL, *sock = NULL, *join_base = NULL, *token = NULL, *pids = NULL;
    const char *product = NULL, *publisher = NULL;
    long interval_ms = 1000, grace_ms = 3000;
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
                                         {"unix-socket", required_argument, NULL, 's'},
                                         {"subscribers", required_argument, NULL, 'n'},
                                         {"join-base", required_argument, NULL, 'j'},
                                         {"join-tag", required_argument, NULL, 't'},
                                         {"changes", required_argument, NULL, 'k'},
                                         {"interval-ms", required_argument, NULL, 'i'},
                                         {"token", required_argument, NULL, 'a'},
                                         {"rss-pids", required_argument, NULL, 'r'},
                                         {"grace-ms", required_argument, NULL, 'g'},
                                         {"product", required_argument, NULL, 'p'},
                                         {"publisher", required_argument, NULL, 'P'},
                                         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'u': url = optarg; break;
        case 's': sock = optarg; break;
        case 'n': L.nsubs = (int)strtol(optarg, NULL, 10); break;
        case 'j': join_base = optarg; break;
        case 't': L.tag = (int)strtol(optarg, NULL, 10); break;
        case 'k': L.nchanges = (int)strtol(optarg, NULL, 10); break;
        case 'i': interval_ms = strtol(optarg, NULL, 10); break;
        case 'a': token = optarg; break;
        case 'r': pids = optarg; break;
        case 'g': grace_ms = strtol(optarg, NULL, 10); break;
        case 'p': product = optarg; break;
        case 'P': publisher = optarg; break;
        default: usage(); return 2;
        }
    }
    if (url == NULL || join_base == NULL || token == NULL || product == NULL || L.nsubs <= 0 ||
        L.nchanges <= 0 || L.nchanges > 100000 || interval_ms <= 0) {
        usage();
        return 2;
    }
    /* one descriptor per subscription, and some */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if ((rlim_t)L.nsubs + 64 > rl.rlim_cur) {
        fprintf(stderr, "mm-live-load: %d subscriptions need more descriptors than %ju\n", L.nsubs,
                (uintmax_t)rl.rlim_cur);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    L.multi = curl_multi_init();
    L.epfd = epoll_create1(EPOLL_CLOEXEC);
    L.timeout_ms = -1;
    L.subs = calloc((size_t)L.nsubs, sizeof(*L.subs));
    L.changes = calloc((size_t)L.nchanges, sizeof(*L.changes));
    L.arrived = calloc((size_t)L.nsubs * (size_t)L.nchanges, sizeof(*L.arrived));
    if (L.multi == NULL || L.epfd < 0 || L.subs == NULL || L.changes == NULL || L.arrived == NULL) {
        fprintf(stderr, "mm-live-load: out of memory\n");
        return 2;
    }
    curl_multi_setopt(L.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(L.multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(L.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
    if (subscription_target(url, sock) != 0) {
        fprintf(stderr,
                "mm-live-load: --url must be http://IPV4:PORT/PATH (or give --unix-socket)\n");
        return 2;
    }
    char auth[8192];
    snprintf(auth, sizeof(auth), "Authorization: %s", token);
    L.join_headers = curl_slist_append(NULL, auth);
    L.join_headers = curl_slist_append(L.join_headers, "Content-Type: application/json");
    L.publish_headers = curl_slist_append(NULL, "Content-Type: application/json");

    long rss_before = rss_kib(pids);
    int64_t t0 = now_us();
    for (int started = 0; started < L.nsubs;) {
        if (L.in_flight < IN_FLIGHT_MAX) {
            for (int b = 0; b < CONNECT_BATCH && started < L.nsubs; b++, started++) {
                subscriber *s = &L.subs[started];
                s->index = started;
                s->last_change = -1;
                sub_start(s);
            }
        }
        run_until(now_us() + 20000);
        if (now_us() - t0 > 120 * 1000000LL)
            break;
    }
    while (L.connected + L.ended < L.nsubs && now_us() - t0 < 120 * 1000000LL)
        run_until(now_us() + 20000);
    double connect_s = (double)(now_us() - t0) / 1e6;
    run_until(now_us() + 1000000); /* settled */
    long rss_after = rss_kib(pids);
    fprintf(stderr, "mm-live-load: %d of %d subscribed in %.1f s\n", L.connected, L.nsubs,
            connect_s);

    int64_t cpu0 = cpu_us();
    for (int c = 0; c < L.nchanges; c++) {
        change *ch = &L.changes[c];
        char target[1024], id[40];
        snprintf(id, sizeof(id), "%08d%024d", L.tag, c);
        ch->easy = curl_easy_init();
        ch->direct = publisher != NULL && c % 2 == 1;
        if (ch->direct) {
            /* as the pool would publish a first join into that game */
            ch->body = malloc(1024);
            snprintf(ch->body, 1024,
                     "{\"type\": \"updated\", \"product_id\": \"%s\", \"game_id\": \"%s\", "
                     "\"game\": {\"game_id\": \"%s\", \"product_id\": \"%s\", "
                     "\"game_server_url\": \"http://127.0.0.1:8080\", \"creator_id\": "
                     "\"seed-%d\", \"creator_name\": \"player %d\", \"players\": [\"seed-%d\", "
                     "\"bench-joiner\"], \"settings\": {\"num_players\":3}}}",
                     product, id, id, product, c, c, c);
            snprintf(target, sizeof(target), "http://localhost/lobby/%s", product);
            curl_easy_setopt(ch->easy, CURLOPT_UNIX_SOCKET_PATH, publisher);
            curl_easy_setopt(ch->easy, CURLOPT_HTTPHEADER, L.publish_headers);
            curl_easy_setopt(ch->easy, CURLOPT_POSTFIELDS, ch->body);
        } else {
            snprintf(target, sizeof(target), "%s%s", join_base, id);
            curl_easy_setopt(ch->easy, CURLOPT_HTTPHEADER, L.join_headers);
            curl_easy_setopt(ch->easy, CURLOPT_POSTFIELDS, "{}");
        }
        curl_easy_setopt(ch->easy, CURLOPT_URL, target);
        curl_easy_setopt(ch->easy, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(ch->easy, CURLOPT_PRIVATE, ch);
        curl_easy_setopt(ch->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(ch->easy, CURLOPT_TIMEOUT_MS, 10000L);
        int64_t at = now_us();
        ch->start_us = at;
        curl_multi_add_handle(L.multi, ch->easy);
        int running;
        curl_multi_socket_action(L.multi, CURL_SOCKET_TIMEOUT, 0, &running);
        run_until(at + interval_ms * 1000);
    }
    run_until(now_us() + grace_ms * 1000);
    int64_t cpu_changes = cpu_us() - cpu0;

    /* ---- the figures ---- */
    /* latencies of the direct publishes and of the joins, from the start and from the end of
     * the request that published */
    size_t cap = (size_t)L.nsubs * (size_t)L.nchanges, n[4] = {0};
    int64_t *lat[4];
    for (int k = 0; k < 4; k++)
        lat[k] = malloc(cap * sizeof(**lat));
    uint64_t lost = 0, failed_changes = 0, direct = 0;
    for (int c = 0; c < L.nchanges; c++) {
        const change *ch = &L.changes[c];
        bool ok = ch->end_us != 0 && (ch->direct ? ch->status / 100 == 2 : ch->status == 200);
        if (!ok) {
            failed_changes++;
            continue;
        }
        direct += ch->direct;
        int k = ch->direct ? 0 : 2;
        for (int s = 0; s < L.nsubs; s++) {
            if (!L.subs[s].connected)
                continue;
            int64_t t = L.arrived[(size_t)s * (size_t)L.nchanges + (size_t)c];
            if (t == 0) {
                lost++;
                continue;
            }
            lat[k][n[k]++] = t - ch->end_us;
            lat[k + 1][n[k + 1]++] = t - ch->start_us;
        }
    }
    double q[4][3];
    for (int k = 0; k < 4; k++) {
        qsort(lat[k], n[k], sizeof(**lat), cmp_i64);
        static const double at[3] = {0.5, 0.99, 1.0};
        for (int j = 0; j < 3; j++)
            q[k][j] = n[k] ? (double)lat[k][(size_t)((double)(n[k] - 1) * at[j])] / 1000 : 0;
        free(lat[k]);
    }
    printf("MMLIVE subscribers=%d connected=%d connect_s=%.1f changes=%d direct=%" PRIu64
           " failed_changes=%" PRIu64 " deliveries=%zu lost=%" PRIu64 " out_of_order=%" PRIu64
           " pings=%" PRIu64 " unknown=%" PRIu64 " overflow=%" PRIu64 " ended=%d",
           L.nsubs, L.connected, connect_s, L.nchanges, direct, failed_changes, n[0] + n[2], lost,
           L.out_of_order, L.pings, L.unknown, L.overflow, L.ended);
    static const char *const names[4] = {"publish_end", "publish_start", "join_end", "join_start"};
    for (int k = 0; k < 4; k++)
        printf(" %s_p50_ms=%.1f %s_p99_ms=%.1f %s_max_ms=%.1f", names[k], q[k][0], names[k],
               q[k][1], names[k], q[k][2]);
    printf(" rss_before_kib=%ld rss_after_kib=%ld tool_cpu_us_per_delivery=%.1f\n", rss_before,
           rss_after, n[0] + n[2] ? (double)cpu_changes / (double)(n[0] + n[2]) : 0);
    for (int c = 0; c < L.nchanges; c++)
        free(L.changes[c].body);
    return L.connected == L.nsubs ? 0 : 1;
}
