// iostreams: cout/cerr formatting, string streams, manipulators, and a
// table printed by another object.
#include "report.h"
#include <iomanip>
#include <iostream>
#include <locale>
#include <sstream>
#include <string>

// Thousands grouped by threes with '.' and a decimal comma: a locale of
// the program's own, which needs no locale installed on the host.
struct Grouped : std::numpunct<char> {
    char do_thousands_sep() const override { return '.'; }
    char do_decimal_point() const override { return ','; }
    std::string do_grouping() const override { return "\3"; }
};

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

    std::ostringstream grouped;
    grouped.imbue(std::locale(std::locale::classic(), new Grouped));
    grouped << 1234567 << ' ' << std::fixed << std::setprecision(2) << 9876543.25;
    std::cout << "grouped: " << grouped.str() << '\n';
    std::istringstream parse_grouped("7.654.321,5");
    parse_grouped.imbue(std::locale(std::locale::classic(), new Grouped));
    double back = 0;
    parse_grouped >> back;
    std::cout << "parsed grouped: " << std::fixed << std::setprecision(1) << back << '\n';
    std::cout.unsetf(std::ios::floatfield);
    std::cout << "classic locale: " << std::locale::classic().name() << ' '
              << (std::locale() == std::locale::classic()) << '\n';

    std::istringstream wide_numbers("2.5e3 0.125 123456789012");
    long double ld = 0;
    float f = 0;
    long long big = 0;
    wide_numbers >> ld >> f >> big;
    // A long double is printed through snprintf_l's "%Lg" (a double on
    // arm64 macOS, an x87 value on x86_64).
    std::cout << std::setprecision(8) << ld << ' ' << ld / 3 << ' ' << f << ' ' << big
              << std::setprecision(6) << '\n';

    std::wostringstream ws;
    ws << L"wide " << 42 << L' ' << 1.5;
    std::string narrowed;
    for (wchar_t c : ws.str()) narrowed += std::use_facet<std::ctype<wchar_t>>(ws.getloc()).narrow(c, '?');
    std::cout << "wide stream: " << narrowed << ' ' << ws.str().size() << '\n';
    std::wistringstream wi(L"17 -4");
    int wa = 0, wb = 0;
    wi >> wa >> wb;
    std::cout << "wide parse: " << wa + wb << '\n';
    std::cerr << "to stderr" << std::endl;
    std::cout << std::flush;
    return 0;
}
