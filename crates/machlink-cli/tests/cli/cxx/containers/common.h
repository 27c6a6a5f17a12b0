#pragma once
#include <map>
#include <string>
#include <vector>

// text.cpp
std::map<std::string, int> word_counts(const std::string& text);
std::vector<std::string> split(const std::string& s, char sep);
std::string upper(std::string s);

// numbers.cpp
std::vector<int> primes_below(int n);
std::vector<long> running_sums(const std::vector<int>& v);
double median(std::vector<double> v);
