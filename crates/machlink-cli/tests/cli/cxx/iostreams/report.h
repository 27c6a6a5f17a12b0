// Formatting helpers defined in report.cpp, used by main.cpp.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

struct Row {
    std::string name;
    int count;
    double share;
};

void print_table(std::ostream& out, const std::vector<Row>& rows);
std::vector<Row> parse_rows(const std::string& text);
std::string hex_dump(const std::string& bytes);
