// Guarded file mappings (mlpc_mapping.h).
#define _GNU_SOURCE
#include "mlpc_mapping.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { slots = 64 };
static _Atomic uintptr_t starts[slots];
static _Atomic uintptr_t ends[slots];
static atomic_int faulted[slots];
static atomic_int installed;
static struct sigaction previous;
static uintptr_t page_size;

static void on_sigbus(int signal, siginfo_t *info, void *context) {
  uintptr_t address = (uintptr_t)info->si_addr;
  for (int i = 0; i < slots; i++) {
    uintptr_t start = atomic_load(&starts[i]);
    if (start == 0 || address < start || address >= atomic_load(&ends[i])) continue;
    void *page = (void *)(address & ~(page_size - 1));
    if (mmap(page, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
        != MAP_FAILED) {
      atomic_store(&faulted[i], 1);
      return;  // the access is retried and reads zeros
    }
  }
  // Not a guarded mapping: what would have happened without us.
  if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction != NULL) {
    previous.sa_sigaction(signal, info, context);
    return;
  }
  if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN
      && previous.sa_handler != NULL) {
    previous.sa_handler(signal);
    return;
  }
  struct sigaction fallback;
  memset(&fallback, 0, sizeof fallback);
  fallback.sa_handler = SIG_DFL;
  sigaction(SIGBUS, &fallback, NULL);  // the access faults again and kills, as before
}

static void install(void) {
  int expected = 0;
  if (!atomic_compare_exchange_strong(&installed, &expected, 1)) return;
  page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_sigbus;
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  sigaction(SIGBUS, &action, &previous);
}

int mlpc_guard_mapping(const void *base, size_t length) {
  install();
  for (int i = 0; i < slots; i++) {
    uintptr_t expected = 0;
    if (atomic_compare_exchange_strong(&starts[i], &expected, (uintptr_t)base)) {
      atomic_store(&faulted[i], 0);
      atomic_store(&ends[i], (uintptr_t)base + length);
      return i;
    }
  }
  return -1;
}

int mlpc_mapping_faulted(int slot) {
  return slot >= 0 && slot < slots && atomic_load(&faulted[slot]);
}

void mlpc_unguard_mapping(int slot) {
  if (slot < 0 || slot >= slots) return;
  atomic_store(&ends[slot], 0);
  atomic_store(&starts[slot], 0);
}
