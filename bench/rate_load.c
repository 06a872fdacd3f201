// A load generator that holds a rate (as wrk2 does, which Debian does not ship): request k is
// due at start + k / RATE and its latency counts from that moment, not from when it was sent, so
// time a request waited for a free connection or for a late server counts (no coordinated
// omission). One thread, CONNECTIONS keep-alive connections, epoll_pwait2's nanosecond timeout.
//
// Usage: rate_load PORT PATH BODY_FILE RATE CONNECTIONS SECONDS [WARMUP_SECONDS]
//   BODY_FILE "-" sends GET PATH without a body; otherwise POST PATH with the file as JSON.
//   RATE_LOAD_TRACE=FILE also writes one line per measured request: when it was due (ms from the
//   start of the measured seconds) and its latency (ms), to see whether slow answers cluster.
// Prints one line: the rate asked, the rate answered over the measured seconds, the latency
// percentiles (p50, p90, p99, p99.9, max in ms) of the requests due in those seconds, and the
// count of answers that were not 2xx or connections lost.
// Build: cc -O2 -o rate_load bench/rate_load.c
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
  int busy;
  int64_t due;  // ns: when the request on this connection was due
  char buffer[1 << 16];
  size_t used;
} Connection;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int open_connection(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Whether buffer holds one whole response (Content-Length bodies); sets *ok for a 2xx status.
static int complete(const char *b, size_t n, int *ok) {
  const char *end = memmem(b, n, "\r\n\r\n", 4);
  if (!end) return 0;
  size_t head = (size_t)(end - b) + 4;
  const char *p = b;
  size_t length = 0;
  while (p < end) {
    const char *line = memchr(p, '\n', (size_t)(end - p));
    if (!line) break;
    if (strncasecmp(p, "content-length:", 15) == 0) length = strtoul(p + 15, NULL, 10);
    p = line + 1;
  }
  if (n < head + length) return 0;
  *ok = n > 9 && b[9] == '2';
  return 1;
}

static int compare(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: %s PORT PATH BODY_FILE RATE CONNECTIONS SECONDS [WARMUP]\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  const char *path = argv[2];
  double rate = atof(argv[4]);
  int connections = atoi(argv[5]);
  double seconds = atof(argv[6]), warmup = argc > 7 ? atof(argv[7]) : 1;
  if (port <= 0 || rate <= 0 || connections <= 0 || seconds <= 0 || warmup < 0) {
    fprintf(stderr, "bad arguments\n");
    return 2;
  }
  char *body = NULL;
  long body_length = 0;
  if (strcmp(argv[3], "-") != 0) {
    FILE *f = fopen(argv[3], "rb");
    if (!f) {
      perror(argv[3]);
      return 2;
    }
    fseek(f, 0, SEEK_END);
    body_length = ftell(f);
    fseek(f, 0, SEEK_SET);
    body = malloc((size_t)body_length + 1);
    if (fread(body, 1, (size_t)body_length, f) != (size_t)body_length) return 2;
    fclose(f);
  }
  size_t request_capacity = (size_t)body_length + strlen(path) + 256;
  char *request = malloc(request_capacity);
  int request_length =
      body ? snprintf(request, request_capacity,
                      "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      "Content-Length: %ld\r\n\r\n",
                      path, body_length)
           : snprintf(request, request_capacity, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
  if (body) {
    memcpy(request + request_length, body, (size_t)body_length);
    request_length += (int)body_length;
  }

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  Connection *c = calloc((size_t)connections, sizeof *c);
  for (int i = 0; i < connections; i++) {
    c[i].fd = open_connection(port);
    if (c[i].fd < 0) {
      perror("connect");
      return 1;
    }
    ev.data.u64 = (uint64_t)i;
    epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
  }

  int64_t start = now_ns() + 10000000;
  int64_t interval = (int64_t)(1e9 / rate);
  int64_t measure_from = start + (int64_t)(warmup * 1e9);
  int64_t stop = measure_from + (int64_t)(seconds * 1e9);
  size_t capacity = (size_t)(rate * seconds * 1.1) + 16, measured = 0;
  int64_t *latencies = malloc(capacity * sizeof *latencies);
  int64_t *dues = malloc(capacity * sizeof *dues);
  long failures = 0, answered_in_window = 0;
  int64_t k = 0;  // the next request to send
  int outstanding = 0;
  struct epoll_event events[256];
  for (;;) {
    int64_t now = now_ns();
    // Send every request now due, on idle connections.
    for (int i = 0; i < connections && start + k * interval <= now && start + k * interval < stop;
         i++) {
      if (c[i].busy) continue;
      c[i].due = start + k * interval;
      c[i].busy = 1;
      c[i].used = 0;
      k++;
      outstanding++;
      int sent = 0;
      while (sent < request_length) {
        ssize_t n = send(c[i].fd, request + sent, (size_t)(request_length - sent), MSG_NOSIGNAL);
        if (n <= 0) {
          if (n < 0 && errno == EINTR) continue;
          failures++;
          break;
        }
        sent += (int)n;
      }
    }
    int64_t next = start + k * interval;
    if (next >= stop && outstanding == 0) break;
    if (now > stop + 5000000000LL) break;  // answers more than 5 s late: give up on them
    // Wait for answers until the next request is due (or a while, once all are sent); a request
    // already due waits for an answer to free a connection.
    int64_t wait = next >= stop ? 100000000 : next - now;
    struct timespec t = {.tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000};
    int n = epoll_pwait2(ep, events, 256, wait > 0 ? &t : NULL, NULL);
    now = now_ns();
    for (int e = 0; e < n; e++) {
      Connection *x = &c[events[e].data.u64];
      ssize_t got = recv(x->fd, x->buffer + x->used, sizeof x->buffer - x->used, 0);
      if (got <= 0) {  // lost: count it and connect again
        failures++;
        epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL);
        close(x->fd);
        x->fd = open_connection(port);
        if (x->fd < 0) return 1;
        ev.data.u64 = events[e].data.u64;
        epoll_ctl(ep, EPOLL_CTL_ADD, x->fd, &ev);
        if (x->busy) outstanding--;
        x->busy = 0;
        continue;
      }
      x->used += (size_t)got;
      int ok = 0;
      if (x->busy && complete(x->buffer, x->used, &ok)) {
        if (!ok) failures++;
        if (x->due >= measure_from && x->due < stop && measured < capacity) {
          dues[measured] = x->due - measure_from;
          latencies[measured++] = now - x->due;
          answered_in_window++;
        }
        x->busy = 0;
        outstanding--;
      }
    }
  }
  if (measured == 0) {
    fprintf(stderr, "no answers\n");
    return 1;
  }
  const char *trace = getenv("RATE_LOAD_TRACE");
  if (trace && *trace) {
    FILE *f = fopen(trace, "w");
    if (!f) {
      perror(trace);
      return 2;
    }
    for (size_t i = 0; i < measured; i++)
      fprintf(f, "%.3f %.3f\n", dues[i] / 1e6, latencies[i] / 1e6);
    fclose(f);
  }
  qsort(latencies, measured, sizeof *latencies, compare);
#define AT(q) (latencies[(size_t)((q) * (double)(measured - 1))] / 1e6)
  printf("rate %.0f answered %.0f req/s p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f ms "
         "failures %ld\n",
         rate, answered_in_window / seconds, AT(0.5), AT(0.9), AT(0.99), AT(0.999),
         latencies[measured - 1] / 1e6, failures);
  return 0;
}
