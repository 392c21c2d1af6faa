#include "session_loop.h"

#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace famfs::daemon {

bool is_short_request(uint32_t opcode) {
    switch (opcode) {
        case FUSE_LOOKUP:
        case FUSE_FORGET:
        case FUSE_BATCH_FORGET:
        case FUSE_GETATTR:
        case FUSE_SETATTR:
        case FUSE_ACCESS:
        case FUSE_OPENDIR:
        case FUSE_READDIR:
        case FUSE_READDIRPLUS:
        case FUSE_RELEASEDIR:
        case FUSE_OPEN:
        case FUSE_RELEASE:
        case FUSE_FLUSH:
        case FUSE_GETXATTR:
        case FUSE_LISTXATTR:
        case FUSE_STATFS:
        case FUSE_INTERRUPT:
            return true;
        default:
            return false;  // READ/WRITE (compat-mode data), INIT, the refused ones, unknown
    }
}

namespace {

// The signal libfuse's handler last took (SIGHUP/SIGINT/SIGTERM), for the
// return value; its own record (the session's error) is not public.
std::atomic<int> g_signal{0};
struct sigaction g_prev[NSIG];

void note_signal(int sig) {
    g_signal.store(sig, std::memory_order_relaxed);
    if (g_prev[sig].sa_handler != SIG_DFL && g_prev[sig].sa_handler != SIG_IGN &&
        g_prev[sig].sa_handler != nullptr)
        g_prev[sig].sa_handler(sig);
}

// Interrupts a worker's read() when the session exits (no SA_RESTART).
void kick_handler(int) {}

int kick_signal() { return SIGRTMIN; }

class Loop {
public:
    Loop(fuse_session* se, unsigned max_threads, InlinePredicate inline_ok)
        : se_(se), max_(max_threads ? max_threads : 1), inline_ok_(std::move(inline_ok)) {}

    int run() {
        for (int sig : {SIGHUP, SIGINT, SIGTERM}) {
            struct sigaction cur {};
            if (sigaction(sig, nullptr, &cur) != 0 || cur.sa_handler == SIG_DFL ||
                cur.sa_handler == SIG_IGN)
                continue;  // only chained onto libfuse's handlers
            g_prev[sig] = cur;
            struct sigaction sa = cur;
            sa.sa_handler = note_signal;
            sigaction(sig, &sa, nullptr);
        }
        struct sigaction kick {};
        kick.sa_handler = kick_handler;
        sigemptyset(&kick.sa_mask);
        sigaction(kick_signal(), &kick, nullptr);

        {
            std::lock_guard g(mu_);
            spawn_locked();
        }
        // Signals arrive here (the workers block them): wait for the session
        // to end, by unmount (a worker saw it) or a signal (libfuse's handler
        // marked the session exited).
        std::unique_lock g(mu_);
        while (!exiting_ && !fuse_session_exited(se_))
            done_cv_.wait_for(g, std::chrono::milliseconds(50));
        exiting_ = true;
        // Wake everyone: parked workers by their condition, the reader (in
        // read() on /dev/fuse) by a signal, repeated in case it had not
        // blocked yet when the first one came.
        while (alive_ > 0) {
            for (Worker* w : parked_) w->cv.notify_one();
            if (reader_ && reader_tid_) pthread_kill(reader_tid_, kick_signal());
            done_cv_.wait_for(g, std::chrono::milliseconds(20));
        }
        g.unlock();
        for (auto& t : threads_) t.join();
        for (int sig : {SIGHUP, SIGINT, SIGTERM})
            if (g_prev[sig].sa_handler) sigaction(sig, &g_prev[sig], nullptr);
        const int sig = g_signal.exchange(0);
        if (sig) return sig;
        return error_;
    }

private:
    struct Worker {
        std::condition_variable cv;
        bool promoted = false;
    };

    void spawn_locked() {
        ++alive_;
        ++started_;
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        threads_.emplace_back([this] { work(); });
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }

    // Takes the reader role, waiting (parked, most recent first) while
    // another thread has it. False when the session is ending.
    bool take_reader(std::unique_lock<std::mutex>& g, Worker& me) {
        while (!exiting_ && reader_) {
            me.promoted = false;
            parked_.push_back(&me);
            me.cv.wait(g, [&] { return me.promoted || exiting_; });
            if (me.promoted) {  // pass_reader_locked reserved the role for us
                me.promoted = false;
                reader_tid_ = pthread_self();
                return !exiting_;
            }
            std::erase(parked_, &me);
        }
        if (exiting_) return false;
        reader_ = true;
        reader_tid_ = pthread_self();
        return true;
    }

    // Gives the reader role up before a long request: to the most recently
    // parked worker, or to a new one while below max_threads. With neither,
    // the next thread to finish takes it.
    void pass_reader_locked() {
        reader_ = false;
        if (!parked_.empty()) {
            Worker* w = parked_.back();
            parked_.pop_back();
            w->promoted = true;
            reader_ = true;  // reserved for w; it sets reader_tid_ when it runs
            reader_tid_ = 0;
            w->cv.notify_one();
        } else if (started_ < max_) {
            spawn_locked();
        }
    }

    void work() {
        sigset_t kick;
        sigemptyset(&kick);
        sigaddset(&kick, kick_signal());
        pthread_sigmask(SIG_UNBLOCK, &kick, nullptr);
        Worker me;
        fuse_buf buf{};
        std::unique_lock g(mu_);
        bool have_role = false;
        for (;;) {
            if (!have_role) {
                if (!take_reader(g, me)) break;
                have_role = true;
            }
            if (exiting_) break;
            g.unlock();
            const int res = fuse_session_receive_buf(se_, &buf);
            g.lock();
            if (res == -EINTR || res == -EAGAIN) continue;
            if (res <= 0 || fuse_session_exited(se_)) {
                if (res < 0 && error_ == 0) error_ = res;
                exiting_ = true;
                fuse_session_exit(se_);
                break;
            }
            const bool in_memory = !(buf.flags & FUSE_BUF_IS_FD) &&
                                   static_cast<size_t>(res) >= sizeof(fuse_in_header);
            bool keep = false;
            if (in_memory) {
                fuse_in_header h;
                std::memcpy(&h, buf.mem, sizeof h);
                keep = inline_ok_(h);
            }
            if (!keep) {
                pass_reader_locked();
                have_role = false;
            }
            g.unlock();
            fuse_session_process_buf(se_, &buf);
            g.lock();
        }
        // Leaving: the role goes to a parked worker if the session goes on
        // (it does not: every exit path sets exiting_), and main hears of it.
        if (have_role) {
            reader_ = false;
            reader_tid_ = 0;
        }
        --alive_;
        done_cv_.notify_all();
        for (Worker* w : parked_) w->cv.notify_one();
        g.unlock();
        std::free(buf.mem);
    }

    fuse_session* se_;
    const unsigned max_;
    InlinePredicate inline_ok_;
    std::mutex mu_;
    std::condition_variable done_cv_;
    std::vector<Worker*> parked_;  // LIFO: back() idled last
    std::vector<std::thread> threads_;
    bool reader_ = false;
    pthread_t reader_tid_ = 0;
    bool exiting_ = false;
    unsigned alive_ = 0, started_ = 0;
    int error_ = 0;
};

}  // namespace

int run_session_loop(fuse_session* se, unsigned max_threads, InlinePredicate inline_ok) {
    Loop loop(se, max_threads, std::move(inline_ok));
    return loop.run();
}

}  // namespace famfs::daemon
