#include "common.h"
#include <atomic>
#include <mutex>
#include <string>

static std::mutex log_mutex;
static std::vector<std::string> log_lines;
static std::atomic<int> live{0};

static void note(const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mutex);
    log_lines.push_back(line);
}

// Constructed on a thread's first use, destroyed when that thread exits
// (through _tlv_atexit on macOS, __cxa_thread_atexit_impl on glibc).
struct PerThread {
    std::string owner;
    int uses = 0;
    explicit PerThread(std::string who) : owner(std::move(who)) {
        ++live;
        note("construct for " + owner);
    }
    ~PerThread() {
        --live;
        note("destroy for " + owner + " after " + std::to_string(uses) + " uses");
    }
};

thread_local int plain_counter = 5;

void touch_thread_local(const char* who) {
    thread_local PerThread mine(who);
    ++mine.uses;
    plain_counter += 1;
    note(std::string(who) + " uses " + std::to_string(mine.uses) + " counter " +
         std::to_string(plain_counter));
}

std::vector<std::string> tls_log() {
    std::lock_guard<std::mutex> lock(log_mutex);
    return log_lines;
}

int tls_live_count() { return live.load(); }

// A destructor registered through the C++ ABI directly (as code written
// for the Itanium ABI does): it runs at thread exit with the thread_local
// objects', newest first.
// (Declared here: libc++abi's <cxxabi.h> leaves it out on Apple targets.)
extern "C" int __cxa_thread_atexit(void (*dtor)(void*), void* obj, void* dso) noexcept;

static void said_goodbye(void* who) { note(std::string("abi destructor for ") + static_cast<const char*>(who)); }

void register_goodbye(const char* who) {
    __cxa_thread_atexit(said_goodbye, const_cast<char*>(who), nullptr);
}
