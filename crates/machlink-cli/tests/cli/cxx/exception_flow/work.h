#pragma once
#include <exception>
#include <string>

// tasks.cpp
std::exception_ptr run_task(int n);
int task_in_thread(int n);
std::string describe(std::exception_ptr p);

// cleanup.cpp
struct Resource {
    int id;
    explicit Resource(int i);
    ~Resource();
};
int use_resources(int fail_at);
int noexcept_caller(int v) noexcept;
