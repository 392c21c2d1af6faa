#include "device_fault.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <mutex>

#include "famfs/error.h"

namespace famfs::daemon {

namespace {

// Lock-free slots the handler can read: a slot is published by storing its
// length last and retired by zeroing its length first.
struct Slot {
    std::atomic<uintptr_t> base{0};
    std::atomic<size_t> len{0};
    std::atomic<bool> faulted{false};
};
constexpr int kSlots = 64;
std::array<Slot, kSlots> g_slots;
std::atomic<uint64_t> g_faults{0};
std::mutex g_mu;  // registration only, never in the handler
bool g_installed = false;

void on_sigbus(int sig, siginfo_t* si, void*) {
    const uintptr_t addr = reinterpret_cast<uintptr_t>(si->si_addr);
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    for (Slot& s : g_slots) {
        const size_t len = s.len.load(std::memory_order_acquire);
        const uintptr_t base = s.base.load(std::memory_order_relaxed);
        if (len == 0 || addr < base || addr >= base + len) continue;
        // Past the device's new end: zero pages from here to the end of the
        // mapping, so this access and any later one complete harmlessly.
        const uintptr_t from = addr & ~(page - 1);
        void* p = mmap(reinterpret_cast<void*>(from), base + len - from, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p == MAP_FAILED) break;
        s.faulted.store(true, std::memory_order_release);
        g_faults.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    // Not ours: the default action, when the access is retried.
    signal(sig, SIG_DFL);
}

}  // namespace

DeviceFaultGuard::DeviceFaultGuard(void* base, size_t len) {
    if (!base || len == 0) return;
    std::lock_guard g(g_mu);
    if (!g_installed) {
        struct sigaction sa {};
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGBUS, &sa, nullptr) != 0) fail_errno("sigaction SIGBUS");
        g_installed = true;
    }
    for (int i = 0; i < kSlots; ++i) {
        Slot& s = g_slots[i];
        if (s.len.load(std::memory_order_relaxed) != 0) continue;
        s.faulted.store(false, std::memory_order_relaxed);
        s.base.store(reinterpret_cast<uintptr_t>(base), std::memory_order_relaxed);
        s.len.store(len, std::memory_order_release);
        slot_ = i;
        return;
    }
    // More live mappings than slots (never in the daemon, which has one):
    // this one is unguarded, as before the guard existed.
}

DeviceFaultGuard::~DeviceFaultGuard() {
    if (slot_ < 0) return;
    std::lock_guard g(g_mu);
    g_slots[slot_].len.store(0, std::memory_order_release);
}

bool DeviceFaultGuard::faulted() const {
    return slot_ >= 0 && g_slots[slot_].faulted.load(std::memory_order_acquire);
}

uint64_t DeviceFaultGuard::total_faults() { return g_faults.load(std::memory_order_relaxed); }

}  // namespace famfs::daemon
