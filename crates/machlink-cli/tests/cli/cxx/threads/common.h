#pragma once
#include <string>
#include <vector>

// Defined in worker.cpp.
long parallel_sum(int threads, long upto);
std::vector<std::string> ping_pong(int rounds);
std::vector<std::string> phases(int workers);

// Defined in tls.cpp: a thread_local object with a destructor.
void touch_thread_local(const char* who);
void register_goodbye(const char* who);
std::vector<std::string> tls_log();
int tls_live_count();
