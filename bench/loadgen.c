/* bench/loadgen: a closed-loop HTTP/1.1 load generator for single-use requests.
 *
 *   loadgen --port P --conns N --seconds S --file F [--check token] [--repeat] [--expect STR]
 *
 * F holds complete requests, each as "<length>\n<bytes>". N keep-alive connections to
 * 127.0.0.1:P each send the next unsent request as soon as the previous answer is in
 * (no pipelining), until every request was sent once or S seconds have passed; with
 * --repeat the file is sent over and over until S seconds have passed (for requests
 * that may be replayed, such as a page with a session cookie). An answer counts as ok
 * when its status is 200, with --check token its JSON body holds an access_token and a
 * three-part id_token, and with --expect the answer (status line, headers and body)
 * contains STR. Prints one JSON object: ok, errors, wall (s), cpu (s of this process),
 * errSamples, lat (ms of each ok answer).
 *
 * The node driver spends its CPU on JavaScript HTTP; this spends about a tenth of it,
 * so on a small machine more of the CPU goes to the server being measured. Both
 * servers are driven by the same program. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct req {
    const char *p;
    size_t n;
} req_t;

typedef struct conn {
    int fd;
    int idle; /* nothing in flight (just opened, or no request left) */
    int connected; /* the connect completed */
    const req_t *rq;
    const req_t *retry; /* not (wholly) sent when the connection closed: sent again */
    size_t sent;
    char *in;
    size_t inlen, incap;
    double t0;
} conn_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *m)
{
    fprintf(stderr, "loadgen: %s\n", m);
    exit(2);
}

static req_t *reqs;
static size_t nreqs, next_req, nsent;
static int port, check_token, repeat, stopping;
static const char *expect;
static size_t latcap;
static int epfd;
static long ok, errors, connect_failures;
static int give_up; /* the server cannot be reached: stop */
static double *lat;
static char samples[5][160];
static int nsamples;

static void sample(const char *what, const char *detail)
{
    if (nsamples < 5)
        snprintf(samples[nsamples++], sizeof(samples[0]), "%s%s", what, detail);
}

static char *load_file(const char *path, size_t *ret_n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open the request file");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
        die("cannot read the request file");
    fclose(f);
    b[n] = 0;
    *ret_n = (size_t)n;
    return b;
}

static void parse_requests(char *b, size_t n)
{
    size_t cap = 1024, off = 0;
    reqs = malloc(cap * sizeof(*reqs));
    while (off < n) {
        char *end = NULL;
        unsigned long len = strtoul(b + off, &end, 10);
        if (!end || *end != '\n' || len == 0 || (size_t)(end + 1 - b) + len > n)
            die("bad request file: want <length>\\n<bytes> records");
        if (nreqs == cap && !(reqs = realloc(reqs, (cap *= 2) * sizeof(*reqs))))
            die("out of memory");
        reqs[nreqs].p = end + 1;
        reqs[nreqs].n = len;
        nreqs++;
        off = (size_t)(end + 1 - b) + len;
    }
}

static void conn_open(conn_t *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)
        die("connect");
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    c->idle = 1;
    c->connected = 0;
    c->rq = NULL;
    c->inlen = 0;
}

static void conn_reopen(conn_t *c)
{
    close(c->fd);
    if (give_up) {
        c->fd = -1;
        c->rq = NULL;
        return;
    }
    conn_open(c);
}

/* The length of a complete answer at the start of the buffer (0: not yet complete;
 * -1: malformed), its status, where its body is, and whether the server closes. */
typedef struct answer {
    int status, close;
    const char *body;
    size_t bodylen;
    char *owned; /* de-chunked body */
} answer_t;

static long parse_answer(const char *p, size_t n, answer_t *a)
{
    memset(a, 0, sizeof(*a));
    const char *hend = memmem(p, n, "\r\n\r\n", 4);
    if (!hend)
        return n > 65536 ? -1 : 0;
    if (n < 12 || strncmp(p, "HTTP/1.", 7))
        return -1;
    a->status = atoi(p + 9);
    long clen = -1;
    int chunked = 0;
    const char *eol = memchr(p, '\n', (size_t)(hend - p));
    for (const char *l = eol ? eol + 1 : hend; l < hend;) {
        const char *e = memchr(l, '\n', (size_t)(hend + 2 - l));
        if (!e)
            break;
        if (!strncasecmp(l, "content-length:", 15))
            clen = atol(l + 15);
        else if (!strncasecmp(l, "transfer-encoding:", 18) && memmem(l, (size_t)(e - l), "chunked", 7))
            chunked = 1;
        else if (!strncasecmp(l, "connection:", 11) && memmem(l, (size_t)(e - l), "close", 5))
            a->close = 1;
        l = e + 1;
    }
    const char *b = hend + 4;
    size_t have = n - (size_t)(b - p);
    if (!chunked) {
        if (clen < 0)
            clen = 0;
        if (have < (size_t)clen)
            return 0;
        a->body = b;
        a->bodylen = (size_t)clen;
        return (long)(b - p) + clen;
    }
    /* chunked: sizes in hex, each chunk then CRLF, a zero chunk, then CRLF */
    size_t off = 0, outlen = 0;
    char *out = malloc(have + 1);
    for (;;) {
        const char *e = memmem(b + off, have - off, "\r\n", 2);
        if (!e) {
            free(out);
            return 0;
        }
        unsigned long sz = strtoul(b + off, NULL, 16);
        size_t data = (size_t)(e + 2 - b);
        if (sz == 0) { /* then trailer lines, if any, and an empty line */
            size_t end;
            if (have >= data + 2 && !memcmp(b + data, "\r\n", 2)) {
                end = data + 2;
            } else {
                const char *t = memmem(b + data, have - data, "\r\n\r\n", 4);
                if (!t) {
                    free(out);
                    return 0;
                }
                end = (size_t)(t + 4 - b);
            }
            a->owned = out;
            a->body = out;
            a->bodylen = outlen;
            return (long)(b - p) + (long)end;
        }
        if (have < data + sz + 2) {
            free(out);
            return 0;
        }
        memcpy(out + outlen, b + data, sz);
        outlen += sz;
        off = data + sz + 2;
    }
}

/* A token response: "access_token":"..." and "id_token":"a.b.c". */
static int token_ok(const char *b, size_t n)
{
    if (!memmem(b, n, "\"access_token\":\"", 16))
        return 0;
    const char *t = memmem(b, n, "\"id_token\":\"", 12);
    if (!t)
        return 0;
    t += 12;
    int dots = 0;
    size_t left = n - (size_t)(t - b), i = 0;
    for (; i < left && t[i] != '"'; i++)
        dots += t[i] == '.';
    return i < left && i > 4 && dots == 2;
}

static void send_next(conn_t *c)
{
    if (repeat && !stopping && next_req >= nreqs)
        next_req = 0;
    if (next_req >= nreqs) {
        c->rq = NULL;
        c->idle = 1;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        return;
    }
    c->rq = &reqs[next_req++];
    nsent++;
    c->sent = 0;
    c->idle = 0;
    c->t0 = now_s();
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void on_writable(conn_t *c)
{
    if (c->idle) { /* just connected */
        c->connected = 1;
        connect_failures = 0;
        if (c->retry) {
            c->rq = c->retry;
            c->retry = NULL;
            c->sent = 0;
            c->idle = 0;
            c->t0 = now_s();
        } else {
            send_next(c);
            if (!c->rq)
                return;
        }
    }
    while (c->sent < c->rq->n) {
        ssize_t w = send(c->fd, c->rq->p + c->sent, c->rq->n - c->sent, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN)
                return;
            errors++;
            sample("write: ", strerror(errno));
            conn_reopen(c);
            return;
        }
        c->sent += (size_t)w;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void on_readable(conn_t *c)
{
    int closed = 0;
    for (;;) {
        if (c->incap - c->inlen < 16384 && !(c->in = realloc(c->in, c->incap += 65536)))
            die("out of memory");
        ssize_t r = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
            closed = 1;
            break;
        }
        if (r < 0)
            break;
        c->inlen += (size_t)r;
    }
    answer_t a;
    long used = c->rq ? parse_answer(c->in, c->inlen, &a) : 0;
    if (used == 0) {
        if (closed) {
            if (!c->connected) {
                errors++;
                sample("connect: ", strerror(errno));
                if (++connect_failures > 100) { /* nobody listens: give up rather than spin */
                    give_up = 1;
                    stopping = 1;
                    next_req = nreqs;
                }
            } else if (c->rq && c->sent < c->rq->n) {
                c->retry = c->rq; /* the server never had it whole: send it again */
            } else if (c->rq) {
                errors++; /* sent and never answered */
                sample("connection closed before the answer", "");
            }
            conn_reopen(c); /* connected again; EPOLLOUT sends the next request */
        }
        return;
    }
    if (used < 0) {
        errors++;
        sample("malformed answer", "");
        conn_reopen(c);
        return;
    }
    int good = a.status == 200 && (!check_token || token_ok(a.body, a.bodylen)) &&
               (!expect || memmem(c->in, (size_t)used, expect, strlen(expect)));
    if (good) {
        if ((size_t)ok == latcap && !(lat = realloc(lat, (latcap *= 2) * sizeof(double))))
            die("out of memory");
        lat[ok++] = (now_s() - c->t0) * 1000.0;
    } else {
        errors++;
        char d[120];
        snprintf(d, sizeof(d), "%d %.*s", a.status, (int)(a.bodylen < 100 ? a.bodylen : 100), a.body ? a.body : "");
        sample("answer ", d);
    }
    free(a.owned);
    memmove(c->in, c->in + used, c->inlen - (size_t)used);
    c->inlen -= (size_t)used;
    if (a.close || closed)
        conn_reopen(c); /* connected again; EPOLLOUT sends the next request */
    else
        send_next(c);
}

#define USAGE "usage: loadgen --port P --conns N --seconds S --file F [--check token] [--repeat] [--expect STR]"

int main(int argc, char **argv)
{
    const char *file = NULL;
    int conns = 32;
    double seconds = 10;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--port") && v)
            port = atoi(v), i++;
        else if (!strcmp(argv[i], "--conns") && v)
            conns = atoi(v), i++;
        else if (!strcmp(argv[i], "--seconds") && v)
            seconds = atof(v), i++;
        else if (!strcmp(argv[i], "--file") && v)
            file = v, i++;
        else if (!strcmp(argv[i], "--check") && v && !strcmp(v, "token"))
            check_token = 1, i++;
        else if (!strcmp(argv[i], "--expect") && v && *v)
            expect = v, i++;
        else if (!strcmp(argv[i], "--repeat"))
            repeat = 1;
        else
            die(USAGE);
    }
    if (!file || port <= 0 || port > 65535 || conns <= 0 || conns > 4096 || !(seconds > 0))
        die(USAGE);
    size_t n;
    char *buf = load_file(file, &n);
    parse_requests(buf, n);
    if (!nreqs)
        die("no requests in the file");
    latcap = nreqs + 1;
    lat = malloc(latcap * sizeof(double));
    epfd = epoll_create1(EPOLL_CLOEXEC);
    conn_t *cs = calloc((size_t)conns, sizeof(*cs));
    if (!lat || !cs || epfd < 0)
        die("out of memory");
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double t0 = now_s(), end = t0 + seconds;
    for (int i = 0; i < conns; i++)
        conn_open(&cs[i]);
    struct epoll_event evs[256];
    for (;;) {
        int busy = 0;
        for (int i = 0; i < conns; i++)
            busy |= cs[i].rq != NULL || cs[i].retry != NULL;
        if ((!busy && next_req > 0 && next_req >= nreqs) || now_s() > end + 10)
            break;
        if (now_s() >= end) {
            stopping = 1;
            next_req = nreqs; /* time is up: finish what is in flight */
        }
        int k = epoll_wait(epfd, evs, 256, 100);
        for (int i = 0; i < k; i++) {
            conn_t *c = evs[i].data.ptr;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(c);
            else if (evs[i].events & EPOLLOUT)
                on_writable(c);
        }
    }
    double wall = now_s() - t0;
    for (int i = 0; i < conns; i++)
        if (cs[i].rq || cs[i].retry) {
            errors++;
            sample("no answer within 10 s after the end", "");
        }
    getrusage(RUSAGE_SELF, &ru1);
    double cpu =
        (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
        (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    printf("{\"ok\":%ld,\"errors\":%ld,\"wall\":%.6f,\"cpu\":%.6f,\"sent\":%zu,\"errSamples\":[", ok, errors, wall, cpu,
           nsent);
    for (int i = 0; i < nsamples; i++) {
        if (i)
            putchar(',');
        putchar('"');
        for (const char *s = samples[i]; *s; s++)
            if (*s == '"' || *s == '\\')
                printf("\\%c", *s);
            else if ((unsigned char)*s < 0x20)
                putchar(' ');
            else
                putchar(*s);
        putchar('"');
    }
    printf("],\"lat\":[");
    for (long i = 0; i < ok; i++)
        printf(i ? ",%.3f" : "%.3f", lat[i]);
    printf("]}\n");
    return 0;
}
