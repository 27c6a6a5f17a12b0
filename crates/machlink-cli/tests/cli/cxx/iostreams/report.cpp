#include "report.h"
#include <iomanip>
#include <iostream>
#include <sstream>

void print_table(std::ostream& out, const std::vector<Row>& rows) {
    out << std::left << std::setw(10) << "name" << std::right << std::setw(6) << "count"
        << std::setw(10) << "share" << '\n';
    for (const Row& r : rows) {
        out << std::left << std::setw(10) << r.name << std::right << std::setw(6) << r.count
            << std::setw(10) << std::fixed << std::setprecision(3) << r.share << '\n';
    }
    out.unsetf(std::ios::floatfield);
    out << std::setprecision(6);
}

std::vector<Row> parse_rows(const std::string& text) {
    std::istringstream in(text);
    std::vector<Row> rows;
    Row r;
    while (in >> r.name >> r.count >> r.share) rows.push_back(r);
    return rows;
}

std::string hex_dump(const std::string& bytes) {
    std::ostringstream out;
    out << std::hex << std::setfill('0');
    for (unsigned char c : bytes) out << std::setw(2) << static_cast<int>(c) << ' ';
    return out.str();
}
