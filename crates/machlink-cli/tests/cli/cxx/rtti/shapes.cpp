#include "shapes.h"

Shape::~Shape() {}
std::string Shape::name() const { return "shape"; }

Circle::Circle(double radius) : r(radius) {}
double Circle::area() const { return 3.0 * r * r; }
std::string Circle::name() const { return "circle"; }

Rect::Rect(double width, double height) : w(width), h(height) {}
double Rect::area() const { return w * h; }
std::string Rect::name() const { return "rect"; }

Square::Square(double s) : Rect(s, s) {}
std::string Square::name() const { return "square"; }

Named::~Named() {}
Widget::Widget() { label = "widget"; }

std::vector<std::unique_ptr<Shape>> make_shapes() {
    std::vector<std::unique_ptr<Shape>> v;
    v.push_back(std::make_unique<Circle>(2.0));
    v.push_back(std::make_unique<Rect>(2.0, 5.0));
    v.push_back(std::make_unique<Square>(3.0));
    v.push_back(std::make_unique<Circle>(0.5));
    return v;
}

Named* make_widget() { return static_cast<Colored*>(new Widget()); }

Sized* as_sized(Colored* c) { return dynamic_cast<Sized*>(c); }
