// A class hierarchy whose vtables and type_infos live in shapes.cpp (the
// key functions are defined there), used through base pointers elsewhere.
#pragma once
#include <memory>
#include <string>
#include <vector>

struct Shape {
    virtual ~Shape();
    virtual double area() const = 0;
    virtual std::string name() const;
};

struct Circle : Shape {
    double r;
    explicit Circle(double r);
    double area() const override;
    std::string name() const override;
};

struct Rect : Shape {
    double w, h;
    Rect(double w, double h);
    double area() const override;
    std::string name() const override;
};

struct Square final : Rect {
    explicit Square(double s);
    std::string name() const override;
};

// Diamond with virtual inheritance: dynamic_cast must adjust through the
// virtual base, and cross-cast between the two sides.
struct Named {
    virtual ~Named();
    std::string label = "named";
};
struct Colored : virtual Named {
    int color = 7;
};
struct Sized : virtual Named {
    int size = 3;
};
struct Widget : Colored, Sized {
    Widget();
};

std::vector<std::unique_ptr<Shape>> make_shapes();
Named* make_widget();
Sized* as_sized(Colored* c);
