// iostreams: cout/cerr formatting, string streams, manipulators, and a
// table printed by another object.
#include "report.h"
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>

int main() {
    std::cout << "hello, " << std::string("iostreams") << std::endl;
    std::cout << 42 << ' ' << -7 << ' ' << 3.5 << ' ' << 1e21 << ' ' << 0.1 << '\n';
    std::cout << std::hex << 255 << ' ' << std::oct << 8 << ' ' << std::dec << 99 << '\n';
    std::cout << std::showbase << std::hex << 4096 << std::noshowbase << std::dec << '\n';
    std::cout << std::scientific << std::setprecision(4) << 12345.678 << '\n';
    std::cout << std::fixed << std::setprecision(2) << 2.0 / 3.0 << '\n';
    std::cout.unsetf(std::ios::floatfield);
    std::cout << std::setprecision(10) << 3.14159265358979 << std::setprecision(6) << '\n';
    std::cout << std::boolalpha << true << ' ' << false << std::noboolalpha << ' ' << true << '\n';
    std::cout << std::setw(8) << std::setfill('*') << 17 << std::setfill(' ') << '\n';
    std::cout << std::internal << std::setw(8) << -17 << std::right << '\n';

    auto rows = parse_rows("alpha 3 0.25\nbeta 12 0.5\ngamma 1 0.125\n");
    print_table(std::cout, rows);
    std::cout << "rows: " << rows.size() << '\n';

    std::ostringstream built;
    for (int i = 0; i < 5; ++i) built << i * i << (i < 4 ? "," : "");
    std::cout << "built: " << built.str() << '\n';

    std::istringstream words("the quick  brown\tfox");
    std::string w;
    int n = 0;
    while (words >> w) std::cout << '[' << w << ']', ++n;
    std::cout << ' ' << n << '\n';

    std::istringstream numbers("12 0x1f -3.25e2 oops");
    int a = 0, b = 0;
    double c = 0;
    numbers >> a >> std::hex >> b >> std::dec >> c;
    std::cout << a << ' ' << b << ' ' << c << ' ' << numbers.good() << '\n';
    int d = 5;
    numbers >> d;
    std::cout << "after bad input: " << d << ' ' << numbers.fail() << '\n';

    std::string line;
    std::istringstream lines("first line\nsecond line\n");
    while (std::getline(lines, line)) std::cout << "line: " << line << '\n';

    std::cout << hex_dump("Mach-O") << '\n';
    std::cerr << "to stderr" << std::endl;
    std::cout << std::flush;
    return 0;
}
